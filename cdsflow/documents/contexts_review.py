"""Context builders of the external review's papers: the Thông báo phân công nhiệm vụ of the team,
the Biên bản kiểm tra, đánh giá ngoài of one school, the Danh sách đơn vị đề nghị công nhận.

Pure, like contexts.py: rows come in as plain dicts gathered by documents/authority_papers.py from
the stored team, visits and scores; every value leaves formatted and NFC-clean.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from cdsflow.documents import vietnamese as vn
from cdsflow.documents.contexts import (
    EDUCATION_LEVELS,
    TEAM_ROLE_LABELS,
    Issue,
    _issuer_name,
    _level,
    _points,
    _t,
    common,
    texts,
)
from cdsflow.kernel.errors import InvalidInput
from cdsflow.workflow.bodies import team_role_problems

_TEAM_ORDER = {"head": 0, "deputy": 1, "secretary": 2, "member": 3}
_LEVEL_ORDER = {"mam_non": 0, "tieu_hoc": 1, "thcs": 2, "thpt": 3, "gdtx": 4}


def sorted_team(team_members: Sequence[dict]) -> list[dict]:
    return sorted(team_members, key=lambda m: (_TEAM_ORDER.get(m["role"], 9), vn.name_sort_key(m["full_name"])))


def _team_check(team_members: Sequence[dict]) -> None:
    if problems := team_role_problems([m["role"] for m in team_members]):  # the team rule, written once
        raise InvalidInput("Đoàn đánh giá ngoài chưa hợp lệ", details=problems)


def _post(m: dict) -> str:
    return vn.nfc(", ".join(x for x in (m.get("position"), m.get("workplace")) if x))


def _session(value: str) -> str:
    return vn.nfc(value or "").lower()


# --- Thông báo phân công nhiệm vụ thành viên đoàn -----------------------------------------------


def thong_bao(authority, campaign, team_members: Sequence[dict], visits: Sequence[dict], issue: Issue, *,
              team_name: str, period: tuple[date | None, date | None], decision_ref: str = "",
              duties: dict[str, str] | None = None) -> dict:
    """`duties`: a member's own assignment by full name (the data file); otherwise the standard
    duties of the member's role in the team (texts.yaml)."""
    _team_check(team_members)
    year, name = campaign.school_year, _issuer_name(authority)
    team = vn.nfc(team_name)
    ctx = common("thong_bao", authority, campaign, issue, _t("thong_bao", "subject", school_year=year),
                 recipients_first=["Các thành viên Đoàn", "Các cơ sở giáo dục có tên trong lịch làm việc"])
    standard = texts()["thong_bao"]["duties"]  # role → the standard duties of that role
    own = {vn.nfc(k): vn.nfc(v) for k, v in (duties or {}).items()}
    intro = (_t("thong_bao", "intro_decision", decision=decision_ref, team_name=team, issuer=name) if decision_ref
             else _t("thong_bao", "intro", school_year=year, team_name=team, issuer=name))
    start, end = period
    dated = [v for v in visits if v.get("visit_date")]
    ctx.update({
        "intro": intro,
        "team_members": [{"num": str(i), "full_name": vn.nfc(m["full_name"]), "position": _post(m),
                          "role": TEAM_ROLE_LABELS[m["role"]],
                          "duties": own.get(vn.nfc(m["full_name"])) or vn.nfc(standard[m["role"]])}
                         for i, m in enumerate(sorted_team(team_members), 1)],
        "schedule_line": _t("thong_bao", "schedule", start=vn.short_date(start), end=vn.short_date(end))
        if start and end else "",
        "schools": [{"num": str(i), "name": vn.nfc(v["name"]), "day": vn.short_date(v["visit_date"]),
                     "session": vn.nfc(v.get("session") or "").capitalize()}
                    for i, v in enumerate(sorted(dated, key=lambda v: (v["visit_date"], _session(v.get("session")) != "sáng",
                                                                       vn.text_sort_key(v["name"]))), 1)],
        "closing": _t("thong_bao", "closing"),
    })
    return ctx


# --- Biên bản kiểm tra, đánh giá ngoài ------------------------------------------------------------


def _difference(own: Any, ext: Any) -> str:
    if own in (None, "") or ext in (None, ""):
        return ""
    d = Decimal(str(ext)) - Decimal(str(own))
    if d == 0:
        return "0"
    return ("+" if d > 0 else "-") + vn.decimal(abs(d))


def bien_ban_danh_gia_ngoai(authority, campaign, school, issue: Issue, *, team_name: str, team_members: Sequence[dict],
                            visit: dict, criteria: Sequence[dict], self_groups: Sequence[dict],
                            external_groups: Sequence[dict], mandatory: Sequence[dict], school_head: dict | None,
                            levels: str, index_set: str) -> dict:
    """`criteria`: {code, group_code, name, max_points, self_points, external_points, notes[]};
    `visit`: {visit_date, session}; `levels`: the external review's level(s) in words."""
    _team_check(team_members)
    year, authority_name, school_name = campaign.school_year, _issuer_name(authority), _issuer_name(school)
    team = vn.nfc(team_name)
    ctx = common("bien_ban_danh_gia_ngoai", authority, campaign, issue,
                 _t("bien_ban_danh_gia_ngoai", "subject", school_year=year), recipients_first=[school_name])
    ctx["header"]["date_line"] = ""  # biên bản: the day is in the body (§3)
    ctx["archive_line"] = ctx["archive_line"][:-1] + ", Hồ sơ."  # Mẫu 1.9: "- Lưu: VT, Hồ sơ."
    members = sorted_team(team_members)
    names = {g.get("group_code"): g.get("group_name") for g in external_groups}
    groups: dict[str, list[dict]] = {}
    for r in criteria:
        groups.setdefault(r.get("group_code") or "", []).append({
            "code": vn.nfc(r["code"]), "name": vn.nfc(r["name"]), "max_points": _points(r.get("max_points")),
            "own": _points(r.get("self_points")), "ext": _points(r.get("external_points")),
            "diff": _difference(r.get("self_points"), r.get("external_points")),
            "notes": "; ".join(vn.nfc(n) for n in r.get("notes") or [])})
    own_by = {g.get("group_code"): g for g in self_groups}
    head = next((m for m in members if m["role"] == "head"), None)
    secretary = next((m for m in members if m["role"] == "secretary"), None)
    ctx.update({
        "opening": _t("bien_ban_danh_gia_ngoai", "opening", session=_session(visit.get("session")),
                      day=vn.short_date(visit.get("visit_date")), team_name=team, issuer=authority_name,
                      school=school_name),
        "team_lines": [f"Ông (bà) {vn.nfc(m['full_name'])}" + (f", {_post(m)}" if _post(m) else "") +
                       f" - {TEAM_ROLE_LABELS[m['role']]};" for m in members],
        "school_lines": [f"Ông (bà) {vn.nfc(school_head['full_name'])} - {vn.nfc(school_head.get('position'))}, "
                         f"đại diện {school_name}."] if school_head else [],
        "content": _t("bien_ban_danh_gia_ngoai", "content", index_set=vn.nfc(index_set)),
        "criteria_groups": [{"label": vn.nfc(f"Nhóm {code} {names.get(code) or ''}".strip()), "rows": rows}
                            for code, rows in groups.items()],
        "group_rows": [{"group_code": vn.nfc(g["group_code"]), "group_name": vn.nfc(g["group_name"]),
                        "max_points": _points(g.get("max_points")),
                        "own": _points(own_by.get(g["group_code"], {}).get("points")),
                        "own_level": _level(own_by.get(g["group_code"], {}).get("level")),
                        "ext": _points(g.get("points")), "ext_level": _level(g.get("level"))}
                       for g in external_groups],
        "mandatory_lines": [f"Tiêu chí {vn.nfc(m['criterion'])}: {'đạt' if m['met'] else 'không đạt'};"
                            for m in mandatory],
        "conclusion": _t("bien_ban_danh_gia_ngoai", "proposal", authority=authority_name, school=school_name,
                         levels=vn.nfc(levels)),
        "closing_line": _t("bien_ban_danh_gia_ngoai", "closing"),
        "school_head_name": vn.nfc(school_head["full_name"]) if school_head else "",
        "secretary_name": vn.nfc(secretary["full_name"]) if secretary else "",
        "head_name": vn.nfc(head["full_name"]) if head else "",
    })
    return ctx


# --- Danh sách đơn vị đề nghị công nhận ------------------------------------------------------------


def proposal_groups(rows: Sequence[dict]) -> list[dict]:
    """Rows grouped by cấp học, each group in the Vietnamese collation of school names."""
    by_level: dict[str, list[dict]] = {}
    for r in rows:
        by_level.setdefault(r.get("education_level") or "", []).append(r)
    out, n = [], 0
    for lvl in sorted(by_level, key=lambda k: (_LEVEL_ORDER.get(k, 9), vn.text_sort_key(k))):
        lines = []
        for r in sorted(by_level[lvl], key=lambda r: vn.text_sort_key(r["school_name"])):
            n += 1
            own = {g.get("group_code"): g for g in r.get("self_groups") or []}
            ext = {g.get("group_code"): g for g in r.get("external_groups") or []}
            line = {"num": str(n), "school_name": vn.nfc(r["school_name"]), "commune": vn.nfc(r.get("commune")),
                    "note": vn.nfc(r.get("note"))}
            for i, code in enumerate(("1", "2"), 1):
                line[f"s{i}"] = _points((own.get(code) or {}).get("points"))
                line[f"e{i}"] = _points((ext.get(code) or {}).get("points"))
                line[f"l{i}"] = _level((ext.get(code) or {}).get("level"))
            lines.append(line)
        out.append({"label": EDUCATION_LEVELS.get(lvl, vn.nfc(lvl) or "Khác"), "rows": lines})
    return out


def danh_sach_de_nghi(authority, campaign, rows: Sequence[dict], issue: Issue, *, team_name: str) -> dict:
    year = campaign.school_year
    ctx = common("danh_sach_de_nghi", authority, campaign, issue, _t("danh_sach_de_nghi", "subject", school_year=year))
    ctx.update({
        "intro": _t("danh_sach_de_nghi", "intro", team_name=vn.nfc(team_name)),
        "proposal_groups": proposal_groups(rows),
        "total_line": f"Tổng số: {vn.thousands(len(rows))} cơ sở giáo dục.",
        "school_codes": [r.get("school_code", "") for r in rows],
    })
    return ctx
