"""Sample contexts of the review's and the report's papers (contexts_review.py, contexts_reports.py),
built through the real builders from sample rows, for `docs sample` and the template tests."""
from __future__ import annotations

from datetime import date

from cdsflow.documents import contexts_reports as cr
from cdsflow.documents import contexts_review as cv
from cdsflow.storage.steering_tables import SteeringMember

TEAM = [{"full_name": "Lê Thị Mai", "position": "Phó Trưởng phòng", "workplace": "Phòng Văn hóa - Xã hội", "role": "head"},
        {"full_name": "Trần Văn Bình", "position": "Chuyên viên", "workplace": "Phòng Văn hóa - Xã hội", "role": "secretary"},
        {"full_name": "Đỗ Minh Chi", "position": "Hiệu trưởng", "workplace": "Trường Tiểu học Đông Hải", "role": "member"}]


def sample_more(code: str, *, bureau, school, campaign, s_issue, b_issue, groups, recognitions, hostile: bool) -> dict:
    x = " & <x>" if hostile else ""
    if code == "qd_ban_chi_dao":
        members = [SteeringMember(unit_id=1, position_order=i, full_name=n, position=p, role=r, duties=d + x,
                                  email=f"gv{i}@truong.edu.vn", phone=f"09123456{i:02d}")
                   for i, (n, p, r, d) in enumerate([("Nguyễn Văn An", "Hiệu trưởng", "head", "Phụ trách chung"),
                                                     ("Lê Thị Mai", "Giáo viên tin học", "member", "Quản trị hệ thống")], 1)]
        return cr.qd_ban_chi_dao(school, campaign, members, s_issue)
    visits = [{"name": r["school_name"], "visit_date": date(2026, 5, 4 + i % 20), "session": "sáng" if i % 2 else "chiều"}
              for i, r in enumerate(recognitions)]
    if code == "thong_bao":
        return cv.thong_bao(bureau, campaign, TEAM, visits, b_issue, team_name="Đoàn đánh giá ngoài" + x,
                            period=(date(2026, 5, 4), date(2026, 5, 25)),
                            decision_ref="Quyết định số 11/QĐ-VHXH ngày 02 tháng 5 năm 2026 của Phòng Văn hóa - Xã hội")
    if code == "bien_ban_danh_gia_ngoai":
        criteria = [{"code": f"{g}.{i}", "group_code": str(g), "name": f"Tiêu chí {g}.{i}{x}", "max_points": 10,
                     "self_points": 7.5, "external_points": 6, "notes": ["Thiếu minh chứng" + x] if i == 3 else []}
                    for g in (1, 2) for i in range(1, 8)]
        return cv.bien_ban_danh_gia_ngoai(
            bureau, campaign, school, b_issue, team_name="Đoàn đánh giá ngoài" + x, team_members=TEAM,
            visit={"visit_date": date(2026, 5, 6), "session": "sáng"}, criteria=criteria, self_groups=groups,
            external_groups=groups, mandatory=[{"criterion": "1.1", "met": True}],
            school_head={"full_name": "Nguyễn Văn An", "position": "Hiệu trưởng"}, levels="Mức 3 (nhóm tiêu chí 1)",
            index_set="4725")
    if code == "danh_sach_de_nghi":
        rows = [{**r, "self_groups": r["group_results"], "external_groups": r["group_results"]} for r in recognitions]
        return cv.danh_sach_de_nghi(bureau, campaign, rows, b_issue, team_name="Đoàn đánh giá ngoài" + x)
    if code == "bao_cao_tong_hop":
        levels = {1: 2, 2: 5, 3: len(recognitions)}
        return cr.bao_cao_tong_hop(
            bureau, campaign, b_issue, superior_name="Sở Giáo dục và Đào tạo Hải Phòng",
            totals={"schools": 40, "self_assessed": 38, "proposed": 35, "reviewed": 30, "recognised": 28, "published": 20},
            group_counts=[{"group_code": "1", "group_name": "Chuyển đổi số trong dạy, học", "levels": levels},
                          {"group_code": "2", "group_name": "Chuyển đổi số trong quản trị", "levels": levels}],
            level_rows=[{"education_level": "tieu_hoc", "schools": 40, "recognised": 28,
                         "groups": {"1": levels, "2": levels}}],
            pending=[{"school_name": "Trường Mầm non Hoa Sen" + x, "stage": "Đang tự đánh giá", "late": "Chậm hạn"}],
            recognitions=recognitions, work_lines=["Ban hành Kế hoạch số 05/KH-VHXH" + x],
            proposals=["Hỗ trợ thiết bị" + x])
    if code == "danh_sach_ban_chi_dao":
        units = [{"unit_name": bureau.name, "members": [
                     SteeringMember(unit_id=1, position_order=1, full_name="Lê Thị Mai", position="Trưởng phòng",
                                    role="head", duties="Phụ trách chung" + x, email="mai@pgd.edu.vn", phone="0912345678")]},
                 {"unit_name": school.name, "members": []}]
        units += [{"unit_name": r["school_name"], "members": [
            SteeringMember(unit_id=2, position_order=1, full_name=f"Hiệu trưởng {i}", position="Hiệu trưởng", role="head")]}
            for i, r in enumerate(recognitions)]
        return cr.danh_sach_ban_chi_dao(bureau, campaign, units, b_issue)
    raise KeyError(code)
