"""What an authority's Kế hoạch and Công văn triển khai rest on, gathered from stored data: the
campaign's calendar (căn cứ: references, parent plan, index sets), the issuer's settings (contact,
submission link), the schools it covers (levels, addressees). Anything missing refuses the paper
with the reason, in Vietnamese; nothing is printed as an empty section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cdsflow.calendars.loader import load_calendar
from cdsflow.documents import contexts as cx
from cdsflow.documents import contexts_plan as cp
from cdsflow.documents import grounds
from cdsflow.documents import sections as sx
from cdsflow.documents import vietnamese as vn
from cdsflow.documents.contexts import Issue
from cdsflow.documents.register import KIND_WORDS
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import fold
from cdsflow.services.campaigns import family_ids
from cdsflow.services.lookups import campaign_milestones
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import DocumentSetting
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit
from cdsflow.workflow.paper_gates import refuse

TEXTS = {"ke_hoach": cp.PLAN_TEXTS, "cong_van_trien_khai": cp.LETTER_TEXTS}
PRESCHOOL_SET, GENERAL_SET = "3276", "4725"


@dataclass
class PlanInputs:
    values: dict[str, str]
    appended: dict[str, list[str]]
    bases: list[str]
    addressees: list[str] = field(default_factory=list)
    area: str = ""


def _calendar(campaign: Campaign, issuer_name: str, required: bool) -> tuple[list[str], list[str], str]:
    """(references, index sets, reason): the calendar the campaign was launched on, as it was then."""
    if not campaign.calendar_source:
        return [], [], (f"đợt đánh giá số {campaign.id} không gắn tệp lịch (khi phát động chưa chọn lịch) nên không có "
                        "căn cứ (kế hoạch cấp trên, văn bản tham chiếu) để ghi vào kế hoạch") if required else ""
    try:
        cal = load_calendar(campaign.calendar_source)
    except (NotFound, InvalidInput) as err:
        return [], [], f"không đọc được tệp lịch «{campaign.calendar_source}» của đợt đánh giá: {err.message}"
    if campaign.calendar_hash and cal.content_hash != campaign.calendar_hash:
        return [], [], (f"tệp lịch «{campaign.calendar_source}» đã thay đổi sau khi phát động đợt đánh giá; căn cứ "
                        "in ra sẽ không còn đúng với lịch đã phát động")
    return list(cal.references), list(cal.index_sets), ""


_PARENT = re.compile(r"^Văn bản cấp trên số (?P<number>\S+)(?P<rest>.*)$")


def _typed_reference(ref: str) -> str:
    """`Kế hoạch số 330/KH-SGDĐT ngày 05/02/2025 của Sở GDĐT Hà Nội`: the parent plan named by the
    type code of its number (the calendar only says «Văn bản cấp trên»)."""
    m = _PARENT.match(ref)
    if not m:
        return ref
    code = m["number"].split("/", 1)[1].split("-", 1)[0] if "/" in m["number"] else ""
    return f"{KIND_WORDS.get(code, 'Văn bản')} số {m['number']}{m['rest']}"


def _levels(session: Session, campaign_id: int) -> set[str]:
    rows = session.execute(select(Unit.education_level).join(Assessment, col(Assessment.school_id) == Unit.id)
                           .where(col(Assessment.campaign_id).in_(family_ids(session, campaign_id))).distinct())
    return {fold(x or "") for x in rows.scalars()}


def campaign_index_sets(session: Session, campaign: Campaign) -> list[str]:
    """The index sets the campaign's schools are assessed on (a căn cứ may cite only these)."""
    return index_sets_covered(campaign, _levels(session, campaign.id), [])


def index_sets_covered(campaign: Campaign, levels: set[str], listed: list[str]) -> list[str]:
    """The campaign's own set, 3276 when preschools take part, 4725 when other schools do; in the
    order the calendar lists them."""
    preschool = any("mam non" in lv or lv in {"mn", "mam_non"} for lv in levels)
    other = any(lv and not ("mam non" in lv or lv in {"mn", "mam_non"}) for lv in levels)
    wanted = {campaign.index_set_code} | ({PRESCHOOL_SET} if preschool else set()) | ({GENERAL_SET} if other else set())
    order = [*listed, GENERAL_SET, PRESCHOOL_SET, campaign.index_set_code]
    return [s for i, s in enumerate(order) if s in wanted and s not in order[:i]]


def legal_bases(references: list[str], sets: list[str], *, day: date | None = None, school_year: str = "") -> list[str]:
    """Căn cứ as the seeds order them: the Bộ's index-set decisions in full (those of the levels taking
    part), the parent plan, then the calendar's other references; only what may be cited on the
    paper's date `day` (documents/grounds.py: no district's ground after 1/7/2025, no plan of an
    earlier school year, no index set the campaign does not use)."""
    known = sorted(cx.texts().get("_legal_bases") or {})
    bases = [b for s in sets for b in cx.index_set_basis(s)]
    full = [f"{s}/QĐ-BGDĐT" for s in sets if cx.index_set_basis(s)]
    parent = [_typed_reference(r) for r in references if _PARENT.match(r)]
    others = [r for r in references if not _PARENT.match(r) and not any(c in r for c in full)]
    if day is None:
        return [*bases, *parent, *others]
    return grounds.grounds_in_force([*bases, *parent, *others], day=day, school_year=school_year or "",
                                    index_sets=sets, known_sets=known)


def _set_names(sets: list[str]) -> tuple[str, str]:
    """(`Quyết định số 4725/QĐ-BGDĐT; …`, `Bộ chỉ số … ban hành kèm theo Quyết định số 4725/QĐ-BGDĐT …`)."""
    decisions, names = [], []
    for s in sets:
        for text in cx.index_set_basis(s):
            decision, _, what = text.partition(" ban hành ")
            decisions.append(decision.split(" ngày ")[0])
            names.append(f"«{what[:1].upper() + what[1:]}» ban hành kèm theo {decision}" if what else decision)
    return "; ".join(decisions), "; ".join(names)


def _contact(setting: DocumentSetting | None, unit: Unit) -> tuple[cp.Contact | None, str]:
    s = setting or DocumentSetting(unit_id=unit.id)
    missing = [label for label, v in (("họ tên", s.contact_name), ("email", s.contact_email),
                                      ("số điện thoại", s.contact_phone)) if not v]
    if missing:
        # Said without a door: the web shows it too (the CLI's way is `cdsflow docs settings --help`).
        return None, (f"chưa có người liên hệ của {unit.name} (thiếu {', '.join(missing)}): quản trị viên hệ thống "
                      f"đặt một lần trong thiết lập văn bản của đơn vị {unit.code}")
    return cp.Contact(s.contact_name, s.contact_title, s.contact_email, s.contact_phone), ""


def inputs(session: Session, code: str, campaign: Campaign, issuer: Unit, milestones: list[CampaignMilestone],
           day: date | None = None) -> PlanInputs:
    """Everything the paper's defaults and căn cứ need; refused with every missing piece at once."""
    reasons = []
    references, listed, why = _calendar(campaign, issuer.name, required=code == "ke_hoach")
    if why:
        reasons.append(why)
    setting = session.get(DocumentSetting, issuer.id)
    contact, why = _contact(setting, issuer)
    if why:
        reasons.append(why)
    link = setting.submission_link if setting else ""
    if code == "cong_van_trien_khai" and not link:
        reasons.append(f"chưa có đường link nộp hồ sơ của {issuer.name} cho phụ lục: quản trị viên hệ thống đặt một lần "
                       f"trong thiết lập văn bản của đơn vị {issuer.code}")
    hint = ["--contact-name … --contact-title … --contact-email … --contact-phone …"] if contact is None else []
    hint += ["--submission-link https://…"] if code == "cong_van_trien_khai" and not link else []
    refuse(code, f"{issuer.name} (đợt đánh giá số {campaign.id})", reasons,
           cli=f"cdsflow docs settings {issuer.code} {' '.join(hint)}" if hint else "")
    sets = index_sets_covered(campaign, _levels(session, campaign.id), listed)
    decisions, names = _set_names(sets)
    superior = session.get(Unit, issuer.supervisor_id) if issuer.supervisor_id else None
    area = f"trên địa bàn {vn.nfc(issuer.place_name)}" if issuer.place_name else "thuộc phạm vi quản lý"
    values = {"issuer": vn.nfc(issuer.name), "issuer_short": vn.nfc(issuer.short_code), "area": area,
              "school_year": vn.nfc(campaign.school_year), "index_sets": decisions, "index_set_names": names,
              "superior": vn.nfc(superior.name) if superior else "", "link": vn.nfc(link),
              "contact": contact.sentence() if contact else ""}
    appended = {"authority": cp.deadline_lines(milestones, issuer.kind),
                "school": cp.deadline_lines(milestones, "school"),
                "process": cp.process_lines(milestones, issuer)}
    out = PlanInputs(values, appended, legal_bases(references, sets, day=day or datetime.now(cx.VN_TZ).date(),
                                                    school_year=campaign.school_year), area=area)
    if code == "cong_van_trien_khai":
        out.addressees = _addressees(session, campaign, issuer, area)
    return out


def _addressees(session: Session, campaign: Campaign, issuer: Unit, area: str) -> list[str]:
    schools = list(session.execute(select(Unit).join(Assessment, col(Assessment.school_id) == Unit.id)
                                   .where(col(Assessment.campaign_id).in_(family_ids(session, campaign.id)))).scalars())
    sup_ids = {s.supervisor_id for s in schools if s.supervisor_id and s.supervisor_id != issuer.id}
    bureaus = list(session.execute(select(Unit).where(col(Unit.id).in_(sup_ids))).scalars()) if sup_ids else []
    direct = [s for s in schools if s.supervisor_id in (None, issuer.id)]
    return cp.addressee_names(bureaus, direct, issuer, area)


def defaults(session: Session, code: str, campaign: Campaign, issuer: Unit) -> dict[str, str]:
    """Each section's text as the officer first sees it (the data file filled with stored data)."""
    got = inputs(session, code, campaign, issuer, campaign_milestones(session, campaign.id))
    return sx.default_texts(TEXTS[code], got.values, got.appended)


def build(session: Session, code: str, campaign: Campaign, issuer: Unit, milestones: list[CampaignMilestone], issue: Issue,
          data: dict[str, Any]) -> dict[str, Any]:
    """The paper's context: defaults, replaced section by section by the officer's text (`data["sections"]`)."""
    got = inputs(session, code, campaign, issuer, milestones, issue.issued_on or issue.planned)
    name = TEXTS[code]
    final = sx.final_sections(name, sx.default_texts(name, got.values, got.appended), data.get("sections"))
    subject = sx.subject_of(name).format_map(got.values)
    issue = replace(issue, legal_bases=data.get("legal_bases") or got.bases)
    if code == "ke_hoach":
        return cp.ke_hoach_authority(issuer, campaign, milestones, issue, subject=subject, sections=final,
                                     area=got.area)
    return cp.cong_van_trien_khai(issuer, campaign, issue, subject=subject, sections=final,
                                  addressees=got.addressees, unit_code=data.get("unit_code", "VP"))


def default_texts(engine: Engine, code: str, campaign_id: int) -> dict[str, str]:
    """`defaults` for a campaign by number (the CLI's «docs text»)."""
    if code not in TEXTS:
        raise InvalidInput(f"Văn bản «{code}» không có nội dung soạn theo mục", details=[f"chọn: {', '.join(TEXTS)}"])
    with UnitOfWork(engine) as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"Không tìm thấy kế hoạch (đợt đánh giá) số {campaign_id}")
        issuer = uow.session.get(Unit, campaign.issuer_id)
        assert issuer is not None  # foreign key
        return defaults(uow.session, code, campaign, issuer)
