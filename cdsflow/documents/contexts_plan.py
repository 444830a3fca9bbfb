"""Contexts of an authority's own campaign papers: its Kế hoạch (the Ba Đình seed) and its Công văn
triển khai (the Bắc Giang seed). Pure: rows come in as objects, the editable sections as the final
paragraphs (documents/sections.py), and every value leaves formatted, ready to print and store.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cdsflow.calendars.timeutil import TZ
from cdsflow.documents import vietnamese as vn
from cdsflow.documents.contexts import Issue, common
from cdsflow.workflow.document_types import document_types

PLAN_TEXTS = "ke_hoach_authority"
LETTER_TEXTS = "cong_van_trien_khai"
ROMAN = ["I", "II", "III", "IV", "V", "VI"]
# Who acts, as the annex and the Tổ chức thực hiện name them (the issuer's own actor is its name).
GROUP_LABELS = {"department": "Sở Giáo dục và Đào tạo",
                "bureau": "Các Phòng Giáo dục và Đào tạo, Phòng Văn hóa - Xã hội",
                "school": "Các cơ sở giáo dục"}
ACTOR_ORDER = ("department", "bureau", "school")
ACTOR_WORDS = {"department": "Sở Giáo dục và Đào tạo", "bureau": "Phòng Giáo dục và Đào tạo, Phòng Văn hóa - Xã hội",
               "school": "các cơ sở giáo dục"}


@dataclass(frozen=True)
class Contact:
    name: str
    title: str
    email: str
    phone: str

    def sentence(self) -> str:
        """`đ/c Nguyễn Bích Ngọc - Chuyên viên (email …, số điện thoại …)`, as the seeds write it."""
        who = f"đ/c {vn.nfc(self.name)}" + (f" - {vn.nfc(self.title)}" if self.title else "")
        return f"{who} (email {vn.nfc(self.email)}, số điện thoại {vn.nfc(self.phone)})"


def _local(at) -> date | None:
    return at.astimezone(TZ).date() if at else None


def _d(day: date) -> str:
    return f"{day.day}/{day.month}/{day.year}"  # the seeds' "31/3/2025"


def when_text(m) -> str:
    """`Tháng 5/2025` for a whole-month window, `Tháng 3/2026 - Tháng 4/2026` across months,
    `Trước 30/5/2025` for a deadline, `01/5/2025 - 20/5/2025` for another window."""
    due, opens = _local(m.due_at), _local(m.opens_at)
    if opens and due:
        whole_months = opens.day == 1 and (due + timedelta(days=1)).day == 1
        if whole_months and (opens.year, opens.month) == (due.year, due.month):
            return f"Tháng {due.month}/{due.year}"
        if whole_months:
            return f"Tháng {opens.month}/{opens.year} - Tháng {due.month}/{due.year}"
        return f"{_d(opens)} - {_d(due)}"
    return f"Trước {_d(due)}" if due else ""


def _ordered(milestones: Sequence) -> list:
    return sorted(milestones, key=lambda m: (getattr(m, "position", 0), m.due_at))


def _actor_order(issuer_kind: str) -> list[str]:
    own = issuer_kind if issuer_kind in ACTOR_ORDER else "bureau"
    return [own, *[a for a in ACTOR_ORDER if a != own]]


def group_label(actor: str, issuer, area: str) -> str:
    if actor == issuer.kind:
        return vn.nfc(issuer.name)
    if actor == "school":
        return f"{GROUP_LABELS['school']} {area}".strip()
    return GROUP_LABELS[actor]


def timetable(milestones: Sequence, issuer, area: str) -> list[dict]:
    """The annex grouped by actor as the Ba Đình seed: `I. PHÒNG …`, `II. CÁC CƠ SỞ GIÁO DỤC …`, rows
    numbered within each group (TT, Nội dung, Thời gian, Sản phẩm)."""
    by_actor: dict[str, list] = {}
    for m in _ordered(milestones):
        by_actor.setdefault(str(m.actor), []).append(m)
    groups = []
    for actor in _actor_order(issuer.kind):
        rows = by_actor.get(actor) or []
        if not rows:
            continue
        label = f"{ROMAN[len(groups)]}. {vn.upper(group_label(actor, issuer, area))}"
        groups.append({"label": label, "rows": [
            {"num": str(i), "content": vn.nfc(m.title).rstrip(".") + ".", "when": when_text(m),
             "output": "; ".join(document_types()[d].name for d in (m.documents or []) if d in document_types())}
            for i, m in enumerate(rows, 1)]})
    return groups


def deadline_lines(milestones: Sequence, actor: str) -> list[str]:
    """`- Công nhận …: trước 30/5/2025.`: the calendar's steps of one actor, for Tổ chức thực hiện."""
    out = []
    for m in _ordered(milestones):
        if str(m.actor) == actor:
            when = when_text(m)
            out.append(f"- {vn.nfc(m.title).rstrip('.')}: {when[:1].lower() + when[1:]}.")
    return out


def process_lines(milestones: Sequence, issuer) -> list[str]:
    """The Công văn's numbered process (2.1., 2.2., …), each step with who does it, its deadline and,
    for an online form, its sending rules (Bắc Giang: at most 03 sends, the last one counts, closes at 24h00)."""
    out = []
    for i, m in enumerate(_ordered(milestones), 1):
        actor = str(m.actor)
        who = vn.nfc(issuer.name) if actor == issuer.kind else ACTOR_WORDS.get(actor, actor)
        out.append(f"2.{i}. {vn.nfc(m.title).rstrip('.')} ({who} thực hiện).")
        when = when_text(m)
        if when.startswith("Tháng"):
            out.append(f"Thời gian thực hiện: {when[:1].lower() + when[1:]}.")
        elif when.startswith("Trước"):
            out.append(f"Thời gian hoàn thành: xong trước ngày {_d(_local(m.due_at))}.")
        elif when:
            out.append(f"Thời gian thực hiện: từ ngày {_d(_local(m.opens_at))} đến hết ngày {_d(_local(m.due_at))}.")
        rules = []
        if getattr(m, "max_submissions", None):
            rules.append(f"mỗi đơn vị gửi không quá {m.max_submissions:02d} lần, "
                         + ("chỉ ghi nhận lần gửi cuối cùng" if getattr(m, "counts", "last") == "last"
                            else "chỉ ghi nhận lần gửi đầu tiên"))
        if getattr(m, "closes_at", None):
            closes = m.closes_at.astimezone(TZ)
            rules.append(f"biểu mẫu tự động đóng sau 24h00 ngày {_d(closes.date())}" if closes.hour == 23 else
                         f"biểu mẫu tự động đóng lúc {closes:%H:%M} ngày {_d(closes.date())}")
        if rules:
            out.append("Lưu ý: " + "; ".join(rules) + ".")
    return out


def addressee_names(bureaus: Sequence, direct_schools: Sequence, issuer, area: str) -> list[str]:
    """Kính gửi: the Phòngs by name (a group name beyond six), then the units the issuer supervises
    directly (by name up to three)."""
    out = [vn.nfc(b.name) for b in sorted(bureaus, key=lambda u: vn.text_sort_key(u.name))] if len(bureaus) <= 6 \
        else [GROUP_LABELS["bureau"]]
    if direct_schools:
        if len(direct_schools) <= 3:
            out += [vn.nfc(s.name) for s in sorted(direct_schools, key=lambda u: vn.text_sort_key(u.name))]
        elif issuer.kind == "department":
            out.append(f"Các đơn vị trực thuộc {vn.nfc(issuer.name)}")
        else:
            out.append(f"{GROUP_LABELS['school']} {area}".strip())
    return out


def ke_hoach_authority(issuer, campaign, milestones: Sequence, issue: Issue, *, subject: str,
                       sections: Mapping[str, list[str]], area: str) -> dict:
    """The authority's Kế hoạch: căn cứ (in `issue.legal_bases`), the officer's sections, the
    timetable annex grouped by actor."""
    ctx = common("ke_hoach", issuer, campaign, issue, subject)
    schools_line = f"- {GROUP_LABELS['school']} {area} (thực hiện);".replace("  ", " ")
    ctx["recipients"] = [*ctx["recipients"], schools_line]
    ctx.update({
        "template": "ke_hoach_authority",
        "sections": {k: [vn.nfc(x) for x in v] for k, v in sections.items()},
        "authority_label": f"1. {vn.nfc(issuer.name)}",
        "schools_label": f"2. {GROUP_LABELS['school']} {area}".strip(),
        "timeline_groups": timetable(milestones, issuer, area),
        "annex_title": vn.upper(f"Lịch triển khai kiểm tra, đánh giá mức độ chuyển đổi số các cơ sở giáo dục "
                                f"{area} năm học {campaign.school_year}".replace("  ", " ")),
        "annex_ref": f"(Kèm theo Kế hoạch số {vn.number_text(issue.number).strip() or vn.BLANK}/{ctx['document_code']} "
                     f"{vn.date_words(issue.issued_on, planned=issue.planned)} của {vn.nfc(issuer.name)})",
    })
    return ctx


def cong_van_trien_khai(issuer, campaign, issue: Issue, *, subject: str, sections: Mapping[str, list[str]],
                        addressees: Sequence[str], unit_code: str = "VP") -> dict:
    """The authority's Công văn triển khai: V/v, Kính gửi, căn cứ, the officer's sections (the
    numbered process with the calendar's deadlines), the link appendix."""
    ctx = common("cong_van_trien_khai", issuer, campaign, issue, subject, recipients_first=["Như trên"],
                 unit_code=unit_code)
    names = [vn.nfc(a).rstrip(";.") for a in addressees if vn.nfc(a)]
    ctx["header"]["vv"] = f"V/v {ctx['subject']}"
    ctx.update({
        "addressees": names,
        "addressees_lines": [f"- {n};" for n in names[:-1]] + ([f"- {names[-1]}."] if names else []),
        "sections": {k: [vn.nfc(x) for x in v] for k, v in sections.items()},
        "annex_ref": f"(Kèm theo Công văn số {vn.number_text(issue.number).strip() or vn.BLANK}/{ctx['document_code']} "
                     f"{vn.date_words(issue.issued_on, planned=issue.planned)} của {vn.nfc(issuer.name)})",
    })
    return ctx
