"""Built-in sample data: `cdsflow docs sample TYPE OUT.docx` for clerks, and the tests' fixtures.

`hostile=True` fills the same documents with what breaks naive generators: `&` and `<` in
names, text in NFD, a 200-character school name and a 3,000-row annex.
"""
from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

from cdsflow.documents import contexts as cx
from cdsflow.documents import paper_sections
from cdsflow.documents.contexts import Issue
from cdsflow.documents.samples_more import sample_more
from cdsflow.documents.samples_plan import plan_sample
from cdsflow.documents.signature import SignatureSpec
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, CommitteeMember, Unit

GIVEN = ["An", "Bình", "Chi", "Dũng", "Đức", "Hà", "Hải", "Hạnh", "Lan", "Long", "Mai", "Minh", "Ngọc", "Phúc",
         "Quân", "Sơn", "Thảo", "Trang", "Tuấn", "Vy"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Đức", "Ngọc"]


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def sample_units(hostile: bool = False) -> tuple[Unit, Unit, Campaign]:
    school_name = "Trường Tiểu học Hùng Thắng"
    if hostile:
        # 200 characters once normalised; handed over in NFD with an Icelandic Ð to repair
        school_name = _nfd(("Trường Tiểu học Hùng Thắng & <Liên cấp> " + "Ð" + "x" * 200)[:200])
    bureau = Unit(id=1, code="PVHXH-HT", name="Phòng Văn hóa - Xã hội" + (" & <GD>" if hostile else ""),
                  short_code="VHXH", kind="bureau", place_name="Hùng Thắng", parent_org="Ủy ban nhân dân xã Hùng Thắng")
    school = Unit(id=2, code="THHT", name=school_name, short_code="THHT", kind="school", education_level="tieu_hoc",
                  place_name=_nfd("Hùng Thắng") if hostile else "Hùng Thắng",
                  parent_org="Ủy ban nhân dân xã Hùng Thắng", supervisor_id=1)
    campaign = Campaign(id=1, issuer_id=1, school_year="2025-2026",
                        title="Đánh giá mức độ chuyển đổi số năm học 2025-2026", index_set_code="4725",
                        status="launched")  # papers are issued in a launched campaign (rule table)
    return bureau, school, campaign


def sample_milestones() -> list[CampaignMilestone]:
    at = lambda d: datetime(2026, d[0], d[1], 16, 59, 59, tzinfo=UTC)  # noqa: E731 - 23:59:59 VN
    rows = [("school", "Ban hành kế hoạch, thành lập Hội đồng tự đánh giá", (3, 20), ["ke_hoach", "qd_hoi_dong"]),
            ("school", "Tự đánh giá và gửi tờ trình", (4, 15), ["bien_ban", "bao_cao", "qd_phe_duyet", "to_trinh"]),
            ("bureau", "Thành lập đoàn và đánh giá ngoài", (5, 20), ["qd_doan_danh_gia"]),
            ("bureau", "Công nhận mức độ chuyển đổi số", (5, 30), ["qd_cong_nhan", "giay_chung_nhan"])]
    return [CampaignMilestone(campaign_id=1, position=i, key=f"m{i}", title=t, actor=a, due_at=at(d), documents=docs)
            for i, (a, t, d, docs) in enumerate(rows)]


def sample_members(hostile: bool = False, n: int = 7) -> list[CommitteeMember]:
    roles = ["chair", "vice_chair", "secretary"] + ["member"] * (n - 3)
    out = []
    for i, role in enumerate(roles):
        name = f"{FAMILY[i % 10]} {MIDDLE[i % 6]} {GIVEN[(i * 7) % 20]}"
        out.append(CommitteeMember(assessment_id=1, position_order=i, full_name=_nfd(name) if hostile else name,
                                   position="Hiệu trưởng" if role == "chair" else "Giáo viên", role=role,
                                   duties="Tổ trưởng & <CNTT>" if hostile else ""))
    return out


def sample_groups() -> list[dict]:
    return [{"group_code": "1", "group_name": "Chuyển đổi số trong dạy, học", "max_points": 100, "points": 75.5, "level": 3},
            {"group_code": "2", "group_name": "Chuyển đổi số trong quản trị", "max_points": 100, "points": 62, "level": 2}]


def _band(points: float) -> int:
    """4725's bands: [0, 50) → 1, [50, 75] → 2, (75, 100] → 3 (samples must agree with them too)."""
    return 1 if points < 50 else 2 if points <= 75 else 3


def sample_recognitions(n: int, hostile: bool = False) -> list[dict]:
    levels = ["mam_non", "tieu_hoc", "thcs", "thpt"]
    out = []
    for i in range(n):
        name = f"Trường {cx.EDUCATION_LEVELS[levels[i % 4]]} {FAMILY[i % 10]} {GIVEN[(i * 3) % 20]} số {i + 1}"
        if hostile and i % 100 == 0:
            name = _nfd(name) + " & <chi nhánh>"
        out.append({"school_name": name, "school_code": f"S{i:05d}", "education_level": levels[i % 4],
                    "commune": f"Xã {GIVEN[i % 20]}", "level": None, "note": "",
                    "group_results": [{"group_code": "1", "points": 40 + i % 60, "level": _band(40 + i % 60)},
                                      {"group_code": "2", "points": 45.5 + i % 50, "level": _band(45.5 + i % 50)}]})
    return out


def sample_issue(kind: str, *, draft: bool = False, hostile: bool = False) -> Issue:
    head = {"school": "Hiệu trưởng", "bureau": "Trưởng phòng"}[kind]
    sig = (SignatureSpec(mode="KT", head_title=head, signer_title="Phó " + head.lower(), signer_name="Lê Thị Mai")
           if kind == "bureau" else SignatureSpec(mode="head", head_title=head, signer_name="Nguyễn Văn An"))
    bases = ["Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ Giáo dục và Đào tạo ban hành Bộ chỉ số đánh giá "
             "mức độ chuyển đổi số của cơ sở giáo dục phổ thông và giáo dục thường xuyên",
             "Kế hoạch số 1020/KH-SGDĐT ngày 24/02/2026 của Sở GD&ĐT Hải Phòng" + (" <khẩn>" if hostile else "")]
    return Issue(number=None if draft else 7, issued_on=None if draft else date(2026, 2, 5),
                 planned=date(2026, 3, 1), signature=sig, legal_bases=bases,
                 recipients=[("Phòng Văn hóa - Xã hội", "để b/c"), ("BGH, tổ chuyên môn", "thực hiện")],
                 archive_units=["VP"], drafter_mark="NVA.(05)" if kind == "school" else "")


def sample_context(code: str, *, hostile: bool = False, draft: bool = False, rows: int | None = None) -> dict:
    """A complete context for `code`, built through the real builders from sample domain objects
    (with its editable sections, as the service stores it)."""
    ctx = _sample_context(code, hostile=hostile, draft=draft, rows=rows)
    return paper_sections.apply(code, ctx, None) if code in paper_sections.PAPERS else ctx


def _sample_context(code: str, *, hostile: bool, draft: bool, rows: int | None) -> dict:
    bureau, school, campaign = sample_units(hostile)
    s_issue, b_issue = sample_issue("school", draft=draft, hostile=hostile), sample_issue("bureau", draft=draft, hostile=hostile)
    groups = sample_groups()
    n = rows if rows is not None else (3000 if hostile else 40)
    if code == "ke_hoach":
        return cx.ke_hoach(school, campaign, sample_milestones(), s_issue, index_sets=["Bộ chỉ số 4725/QĐ-BGDĐT"],
                           tasks=[{"actor": "school",
                                   "content": "Rà soát hạ tầng & <thiết bị>" if hostile else "Rà soát hạ tầng"}],
                           contact="Liên hệ: Nguyễn Văn An, Hiệu trưởng, 0912 345 678.")
    if code == "qd_hoi_dong":
        return cx.qd_hoi_dong(school, campaign, sample_members(hostile, n=n if hostile else 7), s_issue)
    if code == "bien_ban":
        council = Issue(**{**s_issue.__dict__, "signature": SignatureSpec(mode="council", post="Hiệu trưởng"),
                           "code_groups": ["BB", "HĐTĐG"]})
        start = datetime(2026, 4, 10, 1, 30, tzinfo=UTC)
        members = sample_members(hostile)
        meeting = None if draft else {
            "started_at": start, "ended_at": start + timedelta(hours=2),
            "place": "Phòng họp & <tầng 2>" if hostile else "Phòng họp", "chaired_by": members[0].full_name,
            "secretary": members[2].full_name, "attendees_present": len(members) - 1, "attendees_total": len(members),
            "absent": [{"full_name": members[-1].full_name, "reason": "ốm"}], "vote_for": len(members) - 1,
            "vote_against": 0, "vote_abstain": 0, "conclusions": ""}
        return cx.bien_ban(school, campaign, members, groups, council, meeting=meeting,
                           mandatory=[{"criterion": "1.1", "met": True}, {"criterion": "1.2", "met": True}],
                           discussion=["Thống nhất kết quả"])
    if code == "qd_phe_duyet":
        return cx.qd_phe_duyet(school, campaign, groups, s_issue, supervisor_name=bureau.name,
                               committee_decision_ref="Quyết định số 05/QĐ-THHT ngày 10/3/2026 của Hiệu trưởng",
                               minutes_ref="Biên bản họp Hội đồng tự đánh giá ngày 10/4/2026",
                               report_due=date(2026, 4, 15))
    if code == "to_trinh":
        return cx.to_trinh(school, campaign, groups, s_issue, supervisor_name=bureau.name,
                           proposals=[{"group_code": g["group_code"], "group_name": g["group_name"], "level": g["level"]}
                                      for g in groups if isinstance(g.get("level"), int)],
                           attachments=["Báo cáo kết quả tự đánh giá", "Biên bản họp Hội đồng"])
    if code == "bao_cao":
        criteria = [{"code": f"{g}.{i}", "group_code": str(g), "name": f"Tiêu chí {g}.{i}" + (" & <x>" if hostile else ""),
                     "max_points": 10, "points": 7.5, "evidence": [f"MC-{g}.{i}"], "note": ""}
                    for g in (1, 2) for i in range(1, (n // 2 if hostile else 10) + 1)]
        return cx.bao_cao(school, campaign, criteria, groups, s_issue, addressees=[bureau.name],
                          profile={"province": "Hải Phòng", "commune": "Hùng Thắng", "email": "c1hungthang@haiphong.edu.vn"},
                          strengths=["Hạ tầng tốt"], weaknesses=["Thiếu thiết bị"], improvements=["Mua sắm bổ sung"],
                          proposals=["Hỗ trợ tập huấn"])
    if code == "qd_doan_danh_gia":
        team = [{"full_name": "Lê Thị Mai", "position": "Phó Trưởng phòng", "workplace": bureau.name, "role": "head"},
                {"full_name": "Trần Văn Bình", "position": "Chuyên viên", "workplace": bureau.name, "role": "secretary"},
                {"full_name": "Đỗ Minh Chi", "position": "Hiệu trưởng", "workplace": "Trường Tiểu học Đông Hải",
                 "role": "member"}]
        visits = [{"name": r["school_name"], "visit_date": date(2026, 5, 4 + i % 20), "session": "Sáng" if i % 2 else "Chiều"}
                  for i, r in enumerate(sample_recognitions(n if hostile else 12, hostile))]
        return cx.qd_doan_danh_gia(bureau, campaign, team, visits, b_issue, period=(date(2026, 5, 4), date(2026, 5, 25)))
    if code == "qd_cong_nhan":
        return cx.qd_cong_nhan(bureau, campaign, sample_recognitions(n, hostile), b_issue)
    if code == "giay_chung_nhan":
        return cx.giay_chung_nhan(bureau, campaign, school, b_issue, level=None, group_results=groups,
                                  register_no=None if draft else 15,
                                  decision_ref="Quyết định số 12/QĐ-VHXH ngày 30/5/2026 của Phòng Văn hóa - Xã hội")
    if code == "bia_ho_so":
        return cx.bia_ho_so(school, campaign, day=None if draft else date(2026, 4, 15))
    if code == "cong_van_nhac":
        overdue = [Unit(code=f"S{i}", name=r["school_name"], short_code="X", kind="school")
                   for i, r in enumerate(sample_recognitions(n if hostile else 3, hostile))]
        return cx.cong_van_nhac(bureau, campaign, sample_milestones()[1], overdue, b_issue)
    if code in ("ke_hoach_authority", "cong_van_trien_khai"):  # the authority's own papers (samples_plan.py)
        return plan_sample(code, bureau, campaign, sample_milestones(), b_issue, hostile=hostile)

    return sample_more(code, bureau=bureau, school=school, campaign=campaign, s_issue=s_issue, b_issue=b_issue,
                       groups=groups, recognitions=sample_recognitions(n if hostile else 12, hostile), hostile=hostile)


def seed_database(engine, n_schools: int = 3, *, hostile: bool = False) -> dict:
    """Sample rows (a bureau, its schools, one campaign, assessments, committees) for trying the
    documents commands and for the tests. Returns the ids and codes it created."""
    bureau, school0, campaign = sample_units(hostile)
    with UnitOfWork(engine) as uow:
        s = uow.session
        bureau.id = None
        s.add(bureau)
        s.flush()
        campaign.id, campaign.issuer_id = None, bureau.id
        s.add(campaign)
        s.flush()
        for m in sample_milestones():
            m.campaign_id = campaign.id
            m.stage = {"m0": "committee_formed", "m1": "proposal", "m2": "external_review", "m3": "recognition"}[m.key]
            s.add(m)
        codes = []
        for i in range(n_schools):
            name = school0.name if i == 0 else f"Trường Tiểu học {GIVEN[i % 20]} {i}"
            code = "THHT" if i == 0 else f"TH{i:04d}"
            school = Unit(code=code, name=name, short_code=code if code.isalpha() else f"TH{chr(65 + i % 26)}",
                          kind="school", education_level="tieu_hoc", place_name=school0.place_name,
                          parent_org=school0.parent_org, supervisor_id=bureau.id)
            s.add(school)
            s.flush()
            a = Assessment(campaign_id=campaign.id, school_id=school.id,
                           state="self_assessment" if i % 2 else "proposal")
            s.add(a)
            s.flush()
            for m in sample_members(hostile):
                m.assessment_id = a.id
                s.add(m)
            codes.append(code)
        uow.commit()
        return {"campaign_id": campaign.id, "bureau": bureau.code, "schools": codes}
