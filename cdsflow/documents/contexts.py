"""Context builders: one per document type, from domain objects to the strings a template prints.

Pure: the core rows (`Unit`, `Campaign`, `CampaignMilestone`, `CommitteeMember`) come in as
objects, scores as plain dicts (group result = {group_code, group_name, max_points, points,
level}), and every value leaves here formatted, NFC-clean and in its final case, so the
templates only print. The returned dict is plain JSON: it is stored with each generated
document and re-rendered byte for byte.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from cdsflow.calendars.model import RelativeRule
from cdsflow.calendars.timeutil import TZ
from cdsflow.documents import paper_sections
from cdsflow.documents import vietnamese as vn
from cdsflow.documents.signature import SignatureSpec, authority_title, signature_context
from cdsflow.kernel.errors import InvalidInput
from cdsflow.workflow.bodies import team_role_problems
from cdsflow.workflow.document_types import document_types
from cdsflow.workflow.states.committee_formed import committee_role_problems

VN_TZ = TZ  # the one home of Vietnam's zone: calendars/timeutil.py
_TEXTS = Path(__file__).with_name("texts.yaml")

ROLE_LABELS = {"chair": "Chủ tịch", "vice_chair": "Phó Chủ tịch", "secretary": "Thư ký", "member": "Ủy viên"}
TEAM_ROLE_LABELS = {"head": "Trưởng đoàn", "deputy": "Phó Trưởng đoàn", "secretary": "Thư ký", "member": "Thành viên"}
ACTOR_LABELS = {"school": "Cơ sở giáo dục", "bureau": "Phòng Giáo dục và Đào tạo / Phòng Văn hóa - Xã hội",
                "department": "Sở Giáo dục và Đào tạo"}
LEVEL_WORDS = {1: "Mức 1", 2: "Mức 2", 3: "Mức 3"}
DEFAULT_DOSSIER = ["bia_ho_so", "to_trinh", "bien_ban", "bao_cao", "qd_phe_duyet"]


@cache
def texts() -> dict:
    """Standard wording (texts.yaml), checked on load: every type a mapping of strings/lists."""
    data = yaml.safe_load(_TEXTS.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise InvalidInput(f"{_TEXTS.name}: phải là một bảng theo loại văn bản")
    known = document_types()
    for code, block in data.items():
        if code.startswith("_"):  # shared wording, not a document type
            continue
        if code not in known:
            raise InvalidInput(f"{_TEXTS.name}: loại văn bản không có trong danh mục: «{code}»")
        if not isinstance(block, dict):
            raise InvalidInput(f"{_TEXTS.name}: {code}: phải là một bảng khóa → văn bản")

    for code in paper_sections.PAPERS:
        if code in data:
            raise InvalidInput(f"{_TEXTS.name}: «{code}» có tệp riêng documents/texts/{code}.yaml")
        data[code] = paper_sections.wording(code)
    return data


def index_set_basis(index_set_code: str) -> list[str]:
    """The căn cứ for a campaign's index set, when texts.yaml knows it."""
    text = (texts().get("_legal_bases") or {}).get(str(index_set_code))
    return [vn.nfc(text)] if text else []


def _t(code: str, key: str, **values: Any) -> Any:
    raw = texts()[code][key]
    fill = {k: vn.nfc(v) if isinstance(v, str) else v for k, v in values.items()}
    if isinstance(raw, list):
        return [vn.nfc(item.format_map(fill)) for item in raw]
    return vn.nfc(raw.format_map(fill))


@dataclass(frozen=True)
class Issue:
    """What the register and the clerk decide for one paper: number, date, signer, recipients."""

    number: int | None = None  # None: draft, the number is written after signing
    issued_on: date | None = None  # None: draft, day left blank
    planned: date | None = None  # month/year printed in a draft's date line
    signature: SignatureSpec = field(default_factory=SignatureSpec)
    recipients: Sequence[tuple[str, str]] = ()  # (name, purpose)
    archive_units: Sequence[str] = ()
    archive_copies: int | None = None
    drafter_mark: str = ""
    legal_bases: Sequence[str] = ()  # full references, without the final punctuation
    consider: str = ""  # "Xét đề nghị của …" closing the căn cứ of a decision
    code_groups: Sequence[str] | None = None  # overrides the ký hiệu, e.g. council "QĐ-HĐTĐG"
    replaces: str = ""  # "Văn bản này thay thế …": a replacement cites the paper it replaces


def _level(value: Any) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, int):
        return LEVEL_WORDS.get(value, f"Mức {value}")
    return vn.nfc(value)


def _points(value: Any) -> str:
    return "" if value in (None, "") else vn.decimal(value)


def group_rows(group_results: Iterable[dict]) -> list[dict]:
    return [
        {"group_code": vn.nfc(g.get("group_code")), "group_name": vn.nfc(g.get("group_name")),
         "max_points": _points(g.get("max_points")), "points": _points(g.get("points")),
         "level": _level(g.get("level"))}
        for g in group_results
    ]


def _bases(issue: Issue, extra: Sequence[str] = ()) -> list[str]:
    """Căn cứ lines: each ends ";", the last line (or the "Xét đề nghị" line) ends "."."""
    items = [vn.nfc(b).rstrip(";.,") for b in [*issue.legal_bases, *extra] if vn.nfc(b)]
    lines = [f"{b if b.startswith('Căn cứ') else 'Căn cứ ' + b};" for b in items]
    if issue.consider:
        lines.append(vn.nfc(issue.consider).rstrip(";.,") + ".")
    elif lines:
        lines[-1] = lines[-1][:-1] + "."
    return lines


def _recipients(issue: Issue, first: Sequence[str] = ()) -> tuple[list[str], str]:
    items = [*first]
    for name, purpose in issue.recipients:
        name, purpose = vn.nfc(name), vn.nfc(purpose)
        if name:
            items.append(f"{name} ({purpose})" if purpose else name)
    lines = [f"- {i.rstrip(';.')};" for i in items]
    archive = ", ".join(["VT", *[vn.nfc(u) for u in issue.archive_units if vn.nfc(u)]])
    copies = f", {issue.archive_copies}b" if issue.archive_copies else ""
    return lines, f"- Lưu: {archive}{copies}."


def _issuer_name(unit) -> str:
    return vn.nfc(unit.name, field="tên đơn vị")


def common(code: str, issuer, campaign, issue: Issue, subject: str, *, recipients_first: Sequence[str] = (),
           extra_bases: Sequence[str] = (), unit_code: str | None = None) -> dict:
    """Header, title, căn cứ, Nơi nhận and signature: what every numbered paper shares."""
    dtype = document_types()[code]
    if issue.code_groups is not None:
        groups = list(issue.code_groups)
    elif dtype.type_code:
        groups = [dtype.type_code, issuer.short_code]
    else:  # công văn: Số: 125/SGDĐT-VP
        groups = [issuer.short_code, unit_code or "VP"]
    recipients, archive_line = _recipients(issue, recipients_first)
    return {
        "doc_type": code,
        "header": {
            "parent_org": vn.upper(issuer.parent_org),
            "issuer": vn.upper(issuer.name),
            "number_line": vn.number_line(issue.number, *groups),
            "date_line": vn.date_line(issuer.place_name, issue.issued_on, planned=issue.planned),
        },
        "document_code": vn.document_code(*groups),
        "subject": vn.nfc(subject, field="trích yếu").rstrip("."),
        "school_year": vn.nfc(campaign.school_year),
        "legal_bases": _bases(issue, extra_bases),
        "recipients": recipients,
        "archive_line": archive_line,
        "drafter_mark": vn.nfc(issue.drafter_mark),
        "signature": signature_context(issue.signature),
        "replaces_line": vn.nfc(issue.replaces),
    }


def _authority_line(issue: Issue, issuer) -> str:
    sig = issue.signature
    return authority_title(sig.head_title or "Thủ trưởng", issuer.name, mode=sig.mode, body=sig.body)


def _articles(*texts_: str) -> list[dict]:
    return [{"label": f"Điều {i}.", "text": t} for i, t in enumerate(texts_, start=1) if t]


def _addressee_lines(addressees: Sequence[str]) -> list[str]:
    names = [vn.nfc(a).rstrip(";.") for a in addressees if vn.nfc(a)]
    return [f"- {n};" for n in names[:-1]] + ([f"- {names[-1]}."] if names else [])


def _when(m) -> str:
    relative = getattr(m, "relative", None)
    if relative:  # each school's own deadline (a calendar's RelativeRule, or its snapshot's dict)
        rule = relative if isinstance(relative, RelativeRule) else RelativeRule.from_dict(relative)
        return "Trong " + rule.describe()
    due = m.due_at.astimezone(VN_TZ).date() if m.due_at else None
    opens = m.opens_at.astimezone(VN_TZ).date() if m.opens_at else None
    if opens and due:
        return f"{vn.short_date(opens)} - {vn.short_date(due)}"
    return f"Trước {vn.short_date(due)}" if due else ""


# --- 13.1 Kế hoạch ---------------------------------------------------------------------------------


def ke_hoach(issuer, campaign, milestones: Sequence, issue: Issue, *, index_sets: Sequence[str] = (),
             tasks: Sequence[dict] = (), dossier: Sequence[str] = DEFAULT_DOSSIER, contact: str = "",
             scope: str = "") -> dict:
    name, year = _issuer_name(issuer), campaign.school_year
    ctx = common("ke_hoach", issuer, campaign, issue, _t("ke_hoach", "subject", school_year=year))
    by_actor: dict[str, list[dict]] = {}
    # CampaignMilestone rows (position) or calendar Milestones (file order) alike
    for m in sorted(milestones, key=lambda m: (getattr(m, "position", 0), m.due_at is None, m.due_at or 0)):
        docs = [document_types()[d].name for d in (m.documents or []) if d in document_types()]
        by_actor.setdefault(str(m.actor), []).append(
            {"content": vn.nfc(m.title), "when": _when(m), "output": "; ".join(docs)})
    groups, n = [], 0
    for actor in ("department", "bureau", "school"):
        rows = by_actor.pop(actor, [])
        for r in rows:
            n += 1
            r["num"] = str(n)
        if rows:
            groups.append({"label": ACTOR_LABELS[actor], "rows": rows})
    task_groups: dict[str, list[str]] = {}
    for t in tasks:
        task_groups.setdefault(ACTOR_LABELS.get(t["actor"], vn.nfc(t["actor"])), []).append(vn.nfc(t["content"]))
    actor_groups = [{"label": f"{i}. {label}", "lines": items} for i, (label, items) in
                    enumerate(((g["label"], [f"{r['content']}: {r['when']}." for r in g["rows"]]) for g in groups), 1)]
    ctx.update({
        "intro": _t("ke_hoach", "intro", issuer=name, school_year=year),
        "purposes": _t("ke_hoach", "purposes"),
        "requirements": _t("ke_hoach", "requirements"),
        "scope": vn.nfc(scope),
        "index_sets": [vn.nfc(s) for s in index_sets],
        "task_groups": [{"label": f"{i}. {k}", "lines": v} for i, (k, v) in enumerate(task_groups.items(), 1)],
        "actor_groups": actor_groups,
        "dossier_items": [f"{i}. {document_types()[d].name}." for i, d in enumerate(dossier, 1)],
        "contact": vn.nfc(contact),
        "closing": _t("ke_hoach", "closing", issuer=name, school_year=year),
        "timeline_groups": groups,
        "annex_ref": f"(Kèm theo Kế hoạch số {vn.number_text(issue.number).strip() or vn.BLANK}/{ctx['document_code']} "
                     f"{vn.date_words(issue.issued_on, planned=issue.planned)} của {name})",
    })
    return ctx


# --- 13.2 Quyết định thành lập Hội đồng ----------------------------------------------------------

_ROLE_ORDER = {"chair": 0, "vice_chair": 1, "secretary": 2, "member": 3}


def check_committee(members: Sequence) -> None:
    roles = [m.role for m in members]
    problems = committee_role_problems(roles)  # the committee rule, written once
    unknown = sorted({r for r in roles if r not in _ROLE_ORDER})
    if unknown:
        problems.append(f"vai trò không hợp lệ: {', '.join(unknown)}")
    if problems:
        raise InvalidInput("Danh sách Hội đồng tự đánh giá chưa hợp lệ", details=problems)


def sorted_members(members: Sequence) -> list:
    """Chair, vice-chairs, secretaries, members; within a role, the Vietnamese name order."""
    return sorted(members, key=lambda m: (_ROLE_ORDER.get(m.role, 9), vn.name_sort_key(m.full_name)))


def qd_hoi_dong(school, campaign, members: Sequence, issue: Issue) -> dict:
    check_committee(members)
    name, year = _issuer_name(school), campaign.school_year
    committee = _t("qd_hoi_dong", "committee_name", school_year=year)
    ctx = common("qd_hoi_dong", school, campaign, issue, _t("qd_hoi_dong", "subject", school_year=year),
                 recipients_first=["Như Điều 3"])
    ctx.update({
        "authority_line": _authority_line(issue, school),
        "articles": _articles(_t("qd_hoi_dong", "article1", committee_name=committee, issuer=name),
                              _t("qd_hoi_dong", "article2"), _t("qd_hoi_dong", "article3")),
        "committee_name_upper": vn.upper(committee),
        "members": [{"num": str(i), "full_name": vn.nfc(m.full_name), "position": vn.nfc(m.position),
                     "role": ROLE_LABELS[m.role], "note": vn.nfc(getattr(m, "duties", ""))}
                    for i, m in enumerate(sorted_members(members), 1)],
        "annex_ref": f"(Kèm theo Quyết định số {vn.number_text(issue.number).strip() or vn.BLANK}/"
                     f"{ctx['document_code']} {vn.date_words(issue.issued_on, planned=issue.planned)} của {name})",
    })
    return ctx


# --- 13.3 Biên bản ---------------------------------------------------------------------------------


def bien_ban(school, campaign, members: Sequence, group_results: Sequence[dict], issue: Issue, *,
             meeting: dict | None, mandatory: Sequence[dict] = (), discussion: Sequence[str] = ()) -> dict:
    """The council's minutes, printing only the meeting facts it recorded (`meeting`: started_at,
    ended_at, place, chaired_by, secretary, attendees_present, attendees_total, absent, vote_for,
    vote_against, vote_abstain, conclusions). A draft without them shows blanks, never invented facts."""
    check_committee(members)
    year = campaign.school_year
    ctx = common("bien_ban", school, campaign, issue, _t("bien_ban", "subject", school_year=year))
    by_name = {vn.nfc(m.full_name): m for m in members}

    def who(name: str) -> str:
        m = by_name.get(vn.nfc(name))
        return f"{vn.nfc(name)} - {vn.nfc(m.position)}" if m is not None and m.position else vn.nfc(name)

    gap = "." * 20
    if meeting is None:
        ctx.update({
            "opening": f"Vào hồi {vn.BLANK} giờ {vn.BLANK} phút, ngày{vn.BLANK}tháng{vn.BLANK}năm{vn.BLANK}, "
                       f"{_issuer_name(school)} tổ chức họp Hội đồng tự đánh giá mức độ chuyển đổi số.",
            "venue": gap, "present_count": vn.BLANK.strip() or "....", "present_lines": [], "absent_lines": [],
            "chair_line": gap, "secretary_line": gap, "conclusion": gap,
            "vote_line": f"Biểu quyết: {vn.BLANK}/{vn.BLANK} thành viên tán thành, {vn.BLANK} không tán thành, "
                         f"{vn.BLANK} không biểu quyết.",
            "closing_line": f"Cuộc họp kết thúc vào hồi {vn.BLANK} giờ {vn.BLANK} phút cùng ngày. "
                            "Biên bản đã được đọc lại cho các thành viên dự họp cùng nghe và thống nhất./.",
            "secretary_name": "", "chair_name": "", "chair_post": "",
        })
    else:
        s, e = meeting["started_at"].astimezone(VN_TZ), meeting["ended_at"].astimezone(VN_TZ)
        absent_names = {vn.nfc(a["full_name"]) for a in meeting.get("absent") or []}
        present = [m for m in sorted_members(members) if vn.nfc(m.full_name) not in absent_names]
        chair = by_name.get(vn.nfc(meeting["chaired_by"]))
        ctx.update({
            "opening": f"Vào hồi {s.hour} giờ {s.minute:02d} phút, {vn.date_words(s.date())}, "
                       f"{_issuer_name(school)} tổ chức họp Hội đồng tự đánh giá mức độ chuyển đổi số.",
            "venue": vn.nfc(meeting["place"], field="địa điểm"),
            "present_count": f"{meeting['attendees_present']}/{meeting['attendees_total']}",
            "present_lines": [f"{vn.nfc(m.full_name)}, {vn.nfc(m.position)} - {ROLE_LABELS[m.role]};" for m in present],
            "absent_lines": [f"{vn.nfc(a['full_name'])}" + (f" (lý do: {vn.nfc(a['reason'])})" if a.get("reason") else "")
                             + ";" for a in meeting.get("absent") or []],
            "chair_line": who(meeting["chaired_by"]),
            "secretary_line": who(meeting["secretary"]),
            "conclusion": vn.nfc(meeting.get("conclusions")) or _t("bien_ban", "conclusion"),
            "vote_line": f"Biểu quyết: {meeting['vote_for']}/{meeting['attendees_present']} thành viên có mặt tán thành, "
                         f"{meeting['vote_against']} không tán thành, {meeting['vote_abstain']} không biểu quyết.",
            "closing_line": f"Cuộc họp kết thúc vào hồi {e.hour} giờ {e.minute:02d} phút cùng ngày. "
                            "Biên bản đã được đọc lại cho các thành viên dự họp cùng nghe và thống nhất./.",
            "secretary_name": vn.nfc(meeting["secretary"]),
            "chair_name": vn.nfc(meeting["chaired_by"]),
            "chair_post": vn.upper(chair.position) if chair is not None else "",
        })
    ctx.update({
        "agenda": _t("bien_ban", "agenda"),
        "group_results": group_rows(group_results),
        "mandatory_lines": [f"Tiêu chí {vn.nfc(m['criterion'])}: {'đạt' if m['met'] else 'không đạt'};" for m in mandatory],
        "discussion": [vn.nfc(d) for d in discussion],
    })
    ctx["archive_line"] = ctx["archive_line"][:-1] + ", Hồ sơ." if "Hồ sơ" not in ctx["archive_line"] else ctx["archive_line"]
    return ctx


# --- 13.4 Quyết định phê duyệt --------------------------------------------------------------------


def qd_phe_duyet(school, campaign, group_results: Sequence[dict], issue: Issue, *, supervisor_name: str,
                 committee_decision_ref: str = "", minutes_ref: str = "", report_due: date | None = None,
                 overall_level: Any = None) -> dict:
    name, year = _issuer_name(school), campaign.school_year
    bases = [r for r in (committee_decision_ref, minutes_ref) if r]
    ctx = common("qd_phe_duyet", school, campaign, issue, _t("qd_phe_duyet", "subject", school_year=year),
                 recipients_first=["Như Điều 3"], extra_bases=bases)
    due = f" trước {vn.date_words(report_due)}" if report_due else ""
    ctx.update({
        "authority_line": _authority_line(issue, school),
        "articles": _articles(_t("qd_phe_duyet", "article1", school_year=year, issuer=name)),
        "group_results": group_rows(group_results),
        "closing_articles": [
            *([{"label": "", "text": f"Mức độ chuyển đổi số chung: {_level(overall_level)}."}] if overall_level else []),
            {"label": "Điều 2.", "text": _t("qd_phe_duyet", "article2", supervisor=supervisor_name, due=due)},
            {"label": "Điều 3.", "text": _t("qd_phe_duyet", "article3")},
        ],
    })
    return ctx


# --- 13.5 Tờ trình ---------------------------------------------------------------------------------


def to_trinh(school, campaign, group_results: Sequence[dict], issue: Issue, *, supervisor_name: str,
             proposals: Sequence[dict] = (), attachments: Sequence[str] = ()) -> dict:
    """`proposals`: the level proposed per group ({group_code, group_name, level}), as the index set
    defines levels per group; which levels may be proposed is the results service's rule."""
    name, year = _issuer_name(school), campaign.school_year
    ctx = common("to_trinh", school, campaign, issue, _t("to_trinh", "subject", school_year=year),
                 recipients_first=["Như trên"])
    levels = "; ".join(f"{_level(p.get('level'))} đối với nhóm tiêu chí {vn.nfc(p.get('group_code'))} "
                       f"({vn.nfc(p.get('group_name'))})" for p in proposals)
    ctx.update({
        "addressees": [vn.nfc(supervisor_name)],
        "addressees_lines": _addressee_lines([supervisor_name]),
        "summary": _t("to_trinh", "summary", issuer=name, school_year=year, index_set=campaign.index_set_code),
        "group_results": group_rows(group_results),
        "request": _t("to_trinh", "request", issuer=name, supervisor=supervisor_name, school_year=year,
                      levels=levels or "mức độ chuyển đổi số"),
        "attachments": [f"{i}. {vn.nfc(a)};" for i, a in enumerate(attachments, 1)],
        "closing": _t("to_trinh", "closing", supervisor=supervisor_name),
    })
    return ctx


# --- 13.6 Báo cáo ----------------------------------------------------------------------------------


MANDATORY_MET = {True: "Đạt", False: "Không đạt", None: ""}


def _criterion_cells(r: dict) -> dict:
    """A criterion's row: a mandatory criterion is met or not (no points), the others print points."""
    mandatory = bool(r.get("mandatory"))
    return {"code": vn.nfc(r.get("code")), "name": vn.nfc(r.get("name")),
            "max_points": "Bắt buộc" if mandatory else _points(r.get("max_points")),
            "points": MANDATORY_MET[r.get("met")] if mandatory else _points(r.get("points")),
            "evidence": "; ".join(vn.nfc(e) for e in r.get("evidence") or []), "note": vn.nfc(r.get("note"))}


def _codes(rows: Sequence[dict]) -> str:
    return ", ".join(vn.nfc(r.get("code")) for r in rows)


def _list_end(lines: list[str]) -> list[str]:
    """A list of lines each ending «;» closes with «.» (NĐ 30 enumerations)."""
    return [*lines[:-1], lines[-1].removesuffix(";") + "."] if lines else lines


def report_findings(criteria_rows: Sequence[dict], school_year: str, supervisor: str) -> dict[str, list[str]]:
    """Sections IV-VI of the school's report from its scores: strengths (criteria at full points,
    mandatory criteria met), weaknesses (under half the points, mandatory not met), the plan to
    improve those, and the proposal; the standard wording when the scores name nothing."""
    scored = [r for r in criteria_rows if not r.get("mandatory") and r.get("points") is not None and r.get("max_points")]
    full = [r for r in scored if r["points"] >= r["max_points"]]
    weak = [r for r in scored if r["points"] * 2 < r["max_points"]]
    met = [r for r in criteria_rows if r.get("mandatory") and r.get("met") is True]
    unmet = [r for r in criteria_rows if r.get("mandatory") and r.get("met") is False]
    fill = {"school_year": school_year, "supervisor": supervisor}
    strengths = ([f"Đạt điểm tối đa ở {len(full)} tiêu chí: {_codes(full)}."] if full else []) + (
        [f"Đáp ứng các tiêu chí bắt buộc: {_codes(met)}."] if met else [])
    weaknesses = ([f"Chưa đạt một nửa số điểm tối đa ở {len(weak)} tiêu chí: " + "; ".join(
        f"{vn.nfc(r['code'])} ({_points(r['points'])}/{_points(r['max_points'])} điểm)" for r in weak)
        + "; nguyên nhân: hạ tầng, học liệu số và minh chứng chưa đầy đủ."] if weak else []) + (
        [f"Chưa đáp ứng tiêu chí bắt buộc: {_codes(unmet)}."] if unmet else [])
    improvements = [f"Cải tiến tiêu chí {vn.nfc(r['code'])} {vn.nfc(r.get('name'))}: bổ sung điều kiện và minh chứng "
                    f"trong năm học {school_year}." for r in [*unmet, *weak]]
    return {"strengths": strengths or _t("bao_cao", "strengths", **fill),
            "weaknesses": weaknesses or _t("bao_cao", "weaknesses", **fill),
            "improvements": improvements or _t("bao_cao", "improvements", **fill),
            "proposals": _t("bao_cao", "proposals", **fill)}


def bao_cao(school, campaign, criteria_rows: Sequence[dict], group_results: Sequence[dict], issue: Issue, *,
            addressees: Sequence[str] = (), profile: dict | None = None, strengths: Sequence[str] = (),
            weaknesses: Sequence[str] = (), improvements: Sequence[str] = (), proposals: Sequence[str] = ()) -> dict:
    """Sections IV-VI: what the data file gives, else `report_findings` from the scores. The level
    is stated per group, as 4725 does; no overall level the index set does not define."""
    year = campaign.school_year
    ctx = common("bao_cao", school, campaign, issue, _t("bao_cao", "subject", school_year=year),
                 recipients_first=["Như trên"] if addressees else [])
    names = {g.get("group_code"): g.get("group_name") for g in group_results}
    groups: dict[str, list[dict]] = {}
    for r in criteria_rows:
        groups.setdefault(r.get("group_code") or "", []).append(_criterion_cells(r))
    labels = {"province": "Tỉnh/thành phố", "commune": "Xã/phường", "phone": "Điện thoại", "email": "Thư điện tử",
              "website": "Trang thông tin điện tử", "it_infrastructure": "Hạ tầng công nghệ thông tin"}
    profile = profile or {}
    found = report_findings(criteria_rows, year, vn.nfc(addressees[0]) if addressees else "cấp trên")
    given = {"strengths": strengths, "weaknesses": weaknesses, "improvements": improvements, "proposals": proposals}
    ctx.update({
        "addressees": [vn.nfc(a) for a in addressees],
        "addressees_lines": _addressee_lines(addressees),
        "profile_lines": [f"Tên cơ sở giáo dục: {_issuer_name(school)};"] +
                         [f"{label}: {vn.nfc(profile[k])};" for k, label in labels.items() if profile.get(k)],
        "organisation": _t("bao_cao", "organisation"),
        "criteria_groups": [{"label": vn.nfc(f"{code} {names.get(code) or ''}".strip()), "rows": rows}
                            for code, rows in groups.items()],
        "group_lines": _list_end([f"Nhóm {g['group_code']} {g['group_name']}: {g['points']}/{g['max_points']} điểm, "
                                  f"{g['level']};" for g in group_rows(group_results)]),
        **{k: [vn.nfc(x) for x in given[k]] or found[k] for k in given},
    })
    return ctx


# --- 13.7 Quyết định thành lập đoàn đánh giá ngoài -------------------------------------------------

_TEAM_ORDER = {"head": 0, "deputy": 1, "secretary": 2, "member": 3}


def qd_doan_danh_gia(authority, campaign, team_members: Sequence[dict], visits: Sequence[dict], issue: Issue, *,
                     period: tuple[date | None, date | None], team_name: str = "") -> dict:
    if problems := team_role_problems([m["role"] for m in team_members]):  # the team rule, written once
        raise InvalidInput("Đoàn đánh giá ngoài chưa hợp lệ", details=problems)
    year = campaign.school_year
    team = vn.nfc(team_name) or _t("qd_doan_danh_gia", "team_name", school_year=year)  # the officer's name wins
    ctx = common("qd_doan_danh_gia", authority, campaign, issue, _t("qd_doan_danh_gia", "subject", school_year=year),
                 recipients_first=["Như Điều 4"])
    members = sorted(team_members, key=lambda m: (_TEAM_ORDER.get(m["role"], 9), vn.name_sort_key(m["full_name"])))
    ctx.update({
        "authority_line": _authority_line(issue, authority),
        "articles": _articles(
            _t("qd_doan_danh_gia", "article1", team_name=team),
            _t("qd_doan_danh_gia", "article2", school_count=len(visits), start=vn.short_date(period[0]),
               end=vn.short_date(period[1])),
            _t("qd_doan_danh_gia", "article3"), _t("qd_doan_danh_gia", "article4")),
        "team_name_upper": vn.upper(team),
        "team_members": [{"num": str(i), "full_name": vn.nfc(m["full_name"]),
                          "position": vn.nfc(", ".join(x for x in (m.get("position"), m.get("workplace")) if x)),
                          "role": TEAM_ROLE_LABELS[m["role"]]} for i, m in enumerate(members, 1)],
        "schools": [{"num": str(i), "name": vn.nfc(v["name"]), "day": vn.short_date(v.get("visit_date")),
                     "session": vn.nfc(v.get("session", ""))}
                    for i, v in enumerate(sorted(visits, key=lambda v: (v.get("visit_date") or date.max,
                                                                         vn.text_sort_key(v["name"]))), 1)],
        "annex_ref": f"(Kèm theo Quyết định số {vn.number_text(issue.number).strip() or vn.BLANK}/"
                     f"{ctx['document_code']} {vn.date_words(issue.issued_on, planned=issue.planned)} "
                     f"của {_issuer_name(authority)})",
    })
    return ctx


# --- 13.8 Quyết định công nhận ----------------------------------------------------------------------

_LEVEL_ORDER = {"mam_non": 0, "tieu_hoc": 1, "thcs": 2, "thpt": 3, "gdtx": 4}
EDUCATION_LEVELS = {"mam_non": "Mầm non", "tieu_hoc": "Tiểu học", "thcs": "Trung học cơ sở",
                    "thpt": "Trung học phổ thông", "gdtx": "Giáo dục thường xuyên"}


def recognised_level(row: dict) -> str:
    """The «Mức độ» of an annex row: the merged level when the index set defines one, else each
    group's level as 4725 states it («Nhóm 1: Mức 2; Nhóm 2: Mức 3»): never blank, never a merge
    the decision does not define."""
    if row.get("level") not in (None, ""):
        return _level(row.get("level"))
    parts = [f"Nhóm {vn.nfc(g.get('group_code'))}: {_level(g.get('level'))}"
             for g in row.get("group_results") or [] if _level(g.get("level"))]
    if not parts:
        raise InvalidInput(f"{vn.nfc(row.get('school_name'))}: chưa có mức độ của nhóm tiêu chí nào để ghi vào danh sách")
    return "; ".join(parts)


def recognition_groups(recognitions: Sequence[dict]) -> list[dict]:
    """Annex rows grouped by cấp học, each group in the Vietnamese collation of school names."""
    by_level: dict[str, list[dict]] = {}
    for r in recognitions:
        by_level.setdefault(r.get("education_level") or "", []).append(r)
    out, n = [], 0
    for lvl in sorted(by_level, key=lambda k: (_LEVEL_ORDER.get(k, 9), vn.text_sort_key(k))):
        rows = []
        for r in sorted(by_level[lvl], key=lambda r: vn.text_sort_key(r["school_name"])):
            n += 1
            g = {x.get("group_code"): x for x in r.get("group_results") or []}
            g1, g2 = g.get("1") or g.get(1) or {}, g.get("2") or g.get(2) or {}
            label = EDUCATION_LEVELS.get(lvl, vn.nfc(lvl))
            rows.append({"num": str(n), "school_name": vn.nfc(r["school_name"]), "education_level": label,
                         "commune": vn.nfc(r.get("commune")), "p1": _points(g1.get("points")),
                         "l1": _level(g1.get("level")), "p2": _points(g2.get("points")),
                         "l2": _level(g2.get("level")), "level": recognised_level(r), "note": vn.nfc(r.get("note"))})
        out.append({"label": EDUCATION_LEVELS.get(lvl, vn.nfc(lvl) or "Khác"), "rows": rows})
    return out


def qd_cong_nhan(authority, campaign, recognitions: Sequence[dict], issue: Issue) -> dict:
    year = campaign.school_year
    ctx = common("qd_cong_nhan", authority, campaign, issue, _t("qd_cong_nhan", "subject", school_year=year),
                 recipients_first=["Như Điều 3"])
    ctx.update({
        "authority_line": _authority_line(issue, authority),
        "articles": _articles(_t("qd_cong_nhan", "article1", school_year=year, count=vn.thousands(len(recognitions))),
                              _t("qd_cong_nhan", "article2"), _t("qd_cong_nhan", "article3")),
        "annex_title": vn.upper(_t("qd_cong_nhan", "annex_title", school_year=year)),
        "recognition_groups": recognition_groups(recognitions),
        "school_codes": [r.get("school_code", "") for r in recognitions],  # which schools it recognises
        "annex_ref": f"(Kèm theo Quyết định số {vn.number_text(issue.number).strip() or vn.BLANK}/"
                     f"{ctx['document_code']} {vn.date_words(issue.issued_on, planned=issue.planned)} "
                     f"của {_issuer_name(authority)})",
    })
    return ctx


# --- 13.9 Giấy chứng nhận -----------------------------------------------------------------------------


LONG_NAME = 55  # characters of a school name that still fit two lines at 22 pt on the certificate


def giay_chung_nhan(authority, campaign, school, issue: Issue, *, level: Any, decision_ref: str,
                    register_no: int | None, certificate_code: str = "", group_results: Sequence[dict] = ()) -> dict:
    """`level`: the merged level when the index set has one; otherwise each group's level is
    printed on its own line (4725 reports the two groups apart)."""
    year = campaign.school_year
    # No NĐ 30 type code: the header number is the issuing authority's; the certificate's own
    # register number is printed as "Số vào sổ" (code only when the authority insists, a setting).
    groups = [certificate_code, authority.short_code] if certificate_code else ["GCN", authority.short_code]
    ctx = common("giay_chung_nhan", authority, campaign, replace(issue, code_groups=groups),
                 "Giấy chứng nhận mức độ chuyển đổi số")
    number = vn.number_text(register_no).strip() or vn.BLANK
    ctx["header"]["number_line"] = ""  # the certificate's number is its "Số vào sổ" below
    if level not in (None, ""):
        level_line = _t("giay_chung_nhan", "level_line", level=_level(level).lower(), school_year=year)
        lines: list[str] = []
    else:
        level_line = _t("giay_chung_nhan", "groups_line", school_year=year)
        lines = [f"{vn.nfc(g.get('group_name'))}: {_level(g.get('level'))} ({_points(g.get('points'))} điểm)"
                 for g in group_results]
    ctx.update({
        "school_name": vn.upper(school.name),
        "long_name": len(vn.nfc(school.name)) > LONG_NAME,  # set smaller: the page stays one page
        "level_line": level_line,
        "group_lines": lines,
        "basis_line": f"(Theo {vn.nfc(decision_ref)})" if decision_ref else "",
        "register_line": f"Số vào sổ: {number}/{certificate_code}" if certificate_code else f"Số vào sổ: {number}",
    })
    return ctx


# --- 13.10 Bìa hồ sơ ------------------------------------------------------------------------------------


def bia_ho_so(school, campaign, *, day: date | None, contents: Sequence[str] = DEFAULT_DOSSIER,
              missing: Sequence[str] = ()) -> dict:
    """`contents`: the papers the bundle holds, in its order; those in `missing` are named as missing."""
    return {
        "doc_type": "bia_ho_so",
        "parent_org": vn.upper(school.parent_org),
        "issuer": vn.upper(school.name),
        "title": _t("bia_ho_so", "title"),
        "title2": _t("bia_ho_so", "title2"),
        "school_year_line": f"NĂM HỌC {vn.nfc(campaign.school_year)}",
        "contents": [f"{i}. {document_types()[c].name}" + (" (còn thiếu)" if c in missing else "")
                     for i, c in enumerate([c for c in contents if c != "bia_ho_so"], 1)],
        "month_year_line": vn.month_year_line(school.place_name, day),
    }


# --- 13.11 Công văn đôn đốc -------------------------------------------------------------------------------


def cong_van_nhac(authority, campaign, milestone, overdue: Sequence, issue: Issue, *, unit_code: str = "VP") -> dict:
    year = campaign.school_year
    due = _when(milestone)
    subject = _t("cong_van_nhac", "subject", milestone=vn.nfc(milestone.title).lower(), school_year=year)
    ctx = common("cong_van_nhac", authority, campaign, issue, subject, recipients_first=["Như trên"],
                 unit_code=unit_code)
    names = [vn.nfc(u.name) for u in sorted(overdue, key=lambda u: vn.text_sort_key(u.name))]
    addressees = names if len(names) <= 5 else ["Thủ trưởng các cơ sở giáo dục có tên trong danh sách"]
    ctx["header"]["vv"] = f"V/v {ctx['subject']}"
    ctx.update({
        "addressees": addressees,
        "addressees_lines": _addressee_lines(addressees),
        "paragraphs": _t("cong_van_nhac", "body", school_year=year, count=vn.thousands(len(names)),
                         milestone=vn.nfc(milestone.title).lower(), due=due[:1].lower() + due[1:],
                         issuer=_issuer_name(authority)),
        "overdue": [{"num": str(i), "name": n, "due": due} for i, n in enumerate(names, 1)],
        "closing": _t("cong_van_nhac", "closing"),
    })
    return ctx


BUILDERS = {
    "ke_hoach": ke_hoach, "qd_hoi_dong": qd_hoi_dong, "bien_ban": bien_ban, "qd_phe_duyet": qd_phe_duyet,
    "to_trinh": to_trinh, "bao_cao": bao_cao, "qd_doan_danh_gia": qd_doan_danh_gia,
    "qd_cong_nhan": qd_cong_nhan, "giay_chung_nhan": giay_chung_nhan, "bia_ho_so": bia_ho_so,
    "cong_van_nhac": cong_van_nhac,
}
# The authority's own papers, built in their own module (which imports this one, hence at the end).
from cdsflow.documents import contexts_plan as _plan  # noqa: E402

BUILDERS |= {"ke_hoach_authority": _plan.ke_hoach_authority, "cong_van_trien_khai": _plan.cong_van_trien_khai}


def _more_builders() -> None:
    """The review's and the report's papers live in their own modules, which import this one: each
    is looked up when called, so either side may be imported first."""
    import importlib

    def later(module: str, name: str):
        return lambda *args, **kw: getattr(importlib.import_module(f"cdsflow.documents.{module}"), name)(*args, **kw)

    BUILDERS.update({"qd_ban_chi_dao": later("contexts_reports", "qd_ban_chi_dao"),
                     "thong_bao": later("contexts_review", "thong_bao"),
                     "bien_ban_danh_gia_ngoai": later("contexts_review", "bien_ban_danh_gia_ngoai"),
                     "danh_sach_de_nghi": later("contexts_review", "danh_sach_de_nghi"),
                     "bao_cao_tong_hop": later("contexts_reports", "bao_cao_tong_hop"),
                     "danh_sach_ban_chi_dao": later("contexts_reports", "danh_sach_ban_chi_dao")})


_more_builders()
