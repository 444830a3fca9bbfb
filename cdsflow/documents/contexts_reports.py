"""Context builders of a unit's own papers and of its report upward: the Quyết định thành lập bộ
phận chỉ đạo, phụ trách CĐS (criterion 2.1) and the Báo cáo tổng hợp kết quả sent to the superior.

Pure, like contexts.py: rows come in as plain dicts or stored rows, counted by
documents/authority_papers.py from the stored state; every value leaves formatted and NFC-clean.
"""
from __future__ import annotations

from collections.abc import Sequence

from cdsflow.documents import vietnamese as vn
from cdsflow.documents.contexts import (
    EDUCATION_LEVELS,
    Issue,
    _addressee_lines,
    _articles,
    _authority_line,
    _issuer_name,
    _t,
    common,
    recognition_groups,
)
from cdsflow.kernel.errors import InvalidInput
from cdsflow.workflow.bodies import steering_role_problems

STEERING_LABELS = {"head": "Trưởng ban", "deputy": "Phó Trưởng ban", "secretary": "Thư ký", "member": "Thành viên"}
_STEERING_ORDER = {"head": 0, "deputy": 1, "secretary": 2, "member": 3}
_LEVEL_ORDER = {"mam_non": 0, "tieu_hoc": 1, "thcs": 2, "thpt": 3, "gdtx": 4}


# --- Quyết định thành lập bộ phận chỉ đạo, phụ trách CĐS ------------------------------------------


def qd_ban_chi_dao(issuer, campaign, members: Sequence, issue: Issue) -> dict:
    """`members`: stored rows with full_name, position, role, duties, email, phone."""
    if problems := steering_role_problems([m.role for m in members]):  # the group's rule, written once
        raise InvalidInput("Danh sách bộ phận chỉ đạo chưa hợp lệ", details=problems)
    name = _issuer_name(issuer)
    group = _t("qd_ban_chi_dao", "group_name")
    ctx = common("qd_ban_chi_dao", issuer, campaign, issue, _t("qd_ban_chi_dao", "subject"),
                 recipients_first=["Như Điều 3"])
    ordered = sorted(members, key=lambda m: (_STEERING_ORDER.get(m.role, 9), m.position_order))
    ctx.update({
        "authority_line": _authority_line(issue, issuer),
        "articles": _articles(_t("qd_ban_chi_dao", "article1", group_name=group.lower()[:1] + group[1:], issuer=name),
                              _t("qd_ban_chi_dao", "article2"), _t("qd_ban_chi_dao", "article3")),
        "group_name_upper": vn.upper(group),
        "members": [{"num": str(i), "full_name": vn.nfc(m.full_name), "position": vn.nfc(m.position),
                     "role": STEERING_LABELS[m.role] + (f": {vn.nfc(m.duties)}" if m.duties else ""),
                     "email": vn.nfc(m.email), "phone": vn.nfc(m.phone)}
                    for i, m in enumerate(ordered, 1)],
        "annex_ref": f"(Kèm theo Quyết định số {vn.number_text(issue.number).strip() or vn.BLANK}/"
                     f"{ctx['document_code']} {vn.date_words(issue.issued_on, planned=issue.planned)} của {name})",
    })
    return ctx


# --- Danh sách bộ phận chỉ đạo của các đơn vị (the Sở asks each Phòng for it) ---------------------


def danh_sach_ban_chi_dao(authority, campaign, units: Sequence[dict], issue: Issue) -> dict:
    """`units`: {unit_name, members: stored rows} in the order to print (the issuer first); a unit
    with no stored group is listed under "Đơn vị chưa có danh sách"."""
    ctx = common("danh_sach_ban_chi_dao", authority, campaign, issue, _t("danh_sach_ban_chi_dao", "subject"))
    groups, missing, n = [], [], 0
    for u in units:
        if not u["members"]:
            missing.append(vn.nfc(u["unit_name"]))
            continue
        rows = []
        for m in sorted(u["members"], key=lambda m: (_STEERING_ORDER.get(m.role, 9), m.position_order)):
            n += 1
            rows.append({"num": str(n), "full_name": vn.nfc(m.full_name), "position": vn.nfc(m.position),
                         "role": STEERING_LABELS[m.role] + (f": {vn.nfc(m.duties)}" if m.duties else ""),
                         "email": vn.nfc(m.email), "phone": vn.nfc(m.phone)})
        groups.append({"label": vn.nfc(u["unit_name"]), "rows": rows})
    ctx.update({
        "intro": _t("danh_sach_ban_chi_dao", "intro", school_year=campaign.school_year),
        "unit_groups": groups,
        "missing_lines": [f"{m};" for m in missing[:-1]] + ([f"{missing[-1]}."] if missing else []),
        "total_line": f"Tổng số: {_count(len(groups))} đơn vị đã có danh sách, {_count(n)} thành viên; "
                      f"{_count(len(missing))} đơn vị chưa có danh sách.",
    })
    return ctx


# --- Báo cáo tổng hợp kết quả gửi cấp trên ----------------------------------------------------------


def _count(n: int) -> str:
    return vn.thousands(n)


def bao_cao_tong_hop(authority, campaign, issue: Issue, *, superior_name: str, totals: dict,
                     group_counts: Sequence[dict], level_rows: Sequence[dict], pending: Sequence[dict],
                     recognitions: Sequence[dict], work_lines: Sequence[str], plan_ref: str = "",
                     proposals: Sequence[str] = ()) -> dict:
    """`totals`: {schools, self_assessed, proposed, reviewed, recognised, published};
    `group_counts`: {group_code, group_name, levels: {1: n, 2: n, 3: n}} over recognised schools;
    `level_rows`: {education_level, schools, recognised, groups: {code: {1: n, 2: n, 3: n}}};
    `pending`: {school_name, stage, late} of the schools not recognised; `recognitions` as in qd_cong_nhan."""
    year, name = campaign.school_year, _issuer_name(authority)
    ctx = common("bao_cao_tong_hop", authority, campaign, issue, _t("bao_cao_tong_hop", "subject", school_year=year),
                 recipients_first=["Như trên"])
    intro = (_t("bao_cao_tong_hop", "intro_plan", plan=plan_ref, issuer=name, school_year=year) if plan_ref
             else _t("bao_cao_tong_hop", "intro", school_year=year, issuer=name))

    def levels(d: dict) -> list[str]:
        return [_count(d.get(k, 0)) for k in (1, 2, 3)]

    codes = [g["group_code"] for g in group_counts][:2]
    ctx.update({
        "addressees": [vn.nfc(superior_name)],
        "addressees_lines": _addressee_lines([superior_name]),
        "intro": intro,
        "work_lines": [vn.nfc(x) for x in work_lines],
        "total_lines": [
            f"Tổng số cơ sở giáo dục tham gia đánh giá: {_count(totals['schools'])};",
            f"Đã hoàn thành tự đánh giá: {_count(totals['self_assessed'])};",
            f"Đã gửi tờ trình đề nghị đánh giá ngoài: {_count(totals['proposed'])};",
            f"Đã được đánh giá ngoài: {_count(totals['reviewed'])};",
            f"Đã được công nhận mức độ chuyển đổi số: {_count(totals['recognised'])}"
            f" (đã công bố: {_count(totals['published'])}).",
        ],
        "group_counts": [{"group_code": vn.nfc(g["group_code"]), "group_name": vn.nfc(g["group_name"]),
                          "m1": levels(g["levels"])[0], "m2": levels(g["levels"])[1], "m3": levels(g["levels"])[2],
                          "total": _count(sum(g["levels"].get(k, 0) for k in (1, 2, 3)))} for g in group_counts],
        "level_rows": [{"label": EDUCATION_LEVELS.get(r["education_level"], vn.nfc(r["education_level"]) or "Khác"),
                        "schools": _count(r["schools"]), "recognised": _count(r["recognised"]),
                        "g1": " / ".join(levels(r["groups"].get(codes[0], {}))) if codes else "",
                        "g2": " / ".join(levels(r["groups"].get(codes[1], {}))) if len(codes) > 1 else ""}
                       for r in sorted(level_rows, key=lambda r: (_LEVEL_ORDER.get(r["education_level"], 9),
                                                                  vn.text_sort_key(r["education_level"])))],
        "g1_label": f"Nhóm {codes[0]}: Mức 1 / 2 / 3" if codes else "",
        "g2_label": f"Nhóm {codes[1]}: Mức 1 / 2 / 3" if len(codes) > 1 else "",
        "pending": [{"num": str(i), "name": vn.nfc(p["school_name"]), "stage": vn.nfc(p["stage"]),
                     "late": vn.nfc(p.get("late"))}
                    for i, p in enumerate(sorted(pending, key=lambda p: vn.text_sort_key(p["school_name"])), 1)],
        "proposals": [vn.nfc(p) for p in proposals],
        "closing": _t("bao_cao_tong_hop", "closing", school_year=year, issuer=name),
        "annex_title": vn.upper(_t("bao_cao_tong_hop", "annex_title", school_year=year)),
        "recognition_groups": recognition_groups(recognitions),
        "annex_ref": f"(Kèm theo Báo cáo số {vn.number_text(issue.number).strip() or vn.BLANK}/"
                     f"{ctx['document_code']} {vn.date_words(issue.issued_on, planned=issue.planned)} của {name})",
    })
    return ctx
