"""Pure rules of the papers: gates, the authority line, the short code, meeting facts, district
names after 1/7/2025, Excel neutralising, and the content checks of `docs check`."""
import zipfile
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cdsflow.documents import contexts as cx
from cdsflow.documents.checks import check_docx, district_names
from cdsflow.documents.register import RegisterLine, register_xlsx
from cdsflow.documents.render import render
from cdsflow.documents.samples import sample_context
from cdsflow.documents.signature import authority_title
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services.meetings import MeetingInput, meeting_input, meeting_problems
from cdsflow.workflow.document_types import document_types
from cdsflow.workflow.paper_gates import CampaignFacts, PaperFacts, campaign_refusals, refusals
from cdsflow.workflow.units import short_code_problem, validate_unit_row

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SCORED = dict(has_chair=True, has_secretary=True, self_answered=True)


@pytest.mark.parametrize(("code", "facts", "expected"), [
    ("bien_ban", PaperFacts("self_assessment", **SCORED, meeting_recorded=True), []),
    ("bien_ban", PaperFacts("self_assessment", **SCORED), ["chưa ghi thông tin cuộc họp"]),
    ("bien_ban", PaperFacts("committee_formed", **SCORED, meeting_recorded=True), ["giai đoạn"]),
    ("qd_phe_duyet", PaperFacts("proposal", has_chair=True, has_secretary=True, self_answered=True, self_unscored=3),
     ["còn 3 mục chưa chấm"]),
    ("to_trinh", PaperFacts("self_assessment", **SCORED), ["giai đoạn", "chưa gửi tờ trình"]),
    ("giay_chung_nhan", PaperFacts("external_review", **SCORED), ["giai đoạn", "chưa được công nhận", "Quyết định"]),
    ("giay_chung_nhan", PaperFacts("recognition", **SCORED, recognised=True), ["chưa có điểm đánh giá ngoài",
                                                                             "Quyết định công nhận"]),
    ("giay_chung_nhan", PaperFacts("recognition", **SCORED, recognised=True, override=True, decision_number="x"), []),
    ("qd_hoi_dong", PaperFacts("plan_issued", has_chair=True), ["Chủ tịch và Thư ký"]),
])
def test_the_gate_table_says_why(code, facts, expected):
    got = refusals(code, facts)
    assert len(got) == len(expected) and all(e in g for e, g in zip(expected, got, strict=True)), got


def test_a_draft_skips_the_stage_and_the_final_only_requirements():
    facts = PaperFacts("self_assessment", **SCORED)
    assert refusals("to_trinh", facts, draft=True) == []
    assert refusals("bien_ban", facts, draft=True) == []
    assert refusals("bien_ban", PaperFacts("self_assessment", has_chair=True, has_secretary=True), draft=True) == [
        "trường chưa có điểm tự đánh giá nào được lưu"]  # a draft never prints an empty results table


def test_campaign_papers_need_their_schools_and_team():
    assert len(campaign_refusals("qd_doan_danh_gia", CampaignFacts())) == 2
    assert campaign_refusals("qd_doan_danh_gia", CampaignFacts(schools=2, team_formed=True)) == []
    got = campaign_refusals("qd_cong_nhan", CampaignFacts(schools=1, recognised_without_results=("TH1",)))
    assert got == ["trường đã công nhận nhưng thiếu kết quả công nhận: TH1"]


def test_every_gate_names_known_stages_and_requirements():
    types = document_types()
    assert {s.value for s in types["qd_cong_nhan"].stages} == {"recognition", "published"}
    assert "meeting_recorded" in types["bien_ban"].requires


@pytest.mark.parametrize(("position", "unit", "line"), [
    ("TRƯỞNG PHÒNG", "Phòng Giáo dục và Đào tạo quận Ba Đình", "TRƯỞNG PHÒNG GIÁO DỤC VÀ ĐÀO TẠO QUẬN BA ĐÌNH"),
    ("Trưởng phòng", "Phòng Văn hóa - Xã hội phường Ba Đình", "TRƯỞNG PHÒNG VĂN HÓA - XÃ HỘI PHƯỜNG BA ĐÌNH"),
    ("HIỆU TRƯỞNG", "Trường Tiểu học Kim Đồng", "HIỆU TRƯỞNG TRƯỜNG TIỂU HỌC KIM ĐỒNG"),
    ("GIÁM ĐỐC", "Sở Giáo dục và Đào tạo Hà Nội", "GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO HÀ NỘI"),
])
def test_the_authority_line_says_the_shared_word_once(position, unit, line):
    assert authority_title(position, unit) == line


def test_a_collective_decides_in_its_own_name():
    assert authority_title("Chủ tịch", "Ủy ban nhân dân phường Ba Đình", mode="TM",
                           body="Ủy ban nhân dân") == "ỦY BAN NHÂN DÂN PHƯỜNG BA ĐÌNH"


@pytest.mark.parametrize(("value", "ok"), [("THKB1", True), ("SGDĐT", True), ("GD&ĐT", True), ("1TH", False),
                                           ("TH-KB", False), ("TH KB", False), ("X" * 33, False)])
def test_one_short_code_rule_for_import_and_papers(value, ok):
    assert (short_code_problem(value) == "") is ok
    if ok:
        assert cx.vn.document_code("QĐ", value) == f"QĐ-{value}"
    elif value and " " not in value and len(value) < 33:
        with pytest.raises(InvalidInput):
            cx.vn.document_code("QĐ", value)


def test_import_refuses_what_no_paper_could_print():
    row = {"code": "TH-KB1", "name": "Trường Tiểu học Kinh Bắc số 1", "kind": "Trường", "education_level": "Tiểu học",
           "supervisor_code": "P1", "short_code": "THKB1"}
    spec, problems = validate_unit_row(row)
    assert problems == [] and spec.short_code == "THKB1"
    _, problems = validate_unit_row({**row, "short_code": "TH-KB/1"})
    assert any("không in được trên văn bản" in p for p in problems)
    spec, _ = validate_unit_row({**row, "short_code": ""})
    assert spec.short_code == "THKB1"  # derived from the code, separators dropped


def _meeting(**kw) -> MeetingInput:
    start = datetime(2025, 3, 10, 8, 0, tzinfo=VN)
    base = dict(started_at=start, ended_at=start + timedelta(hours=2), place="Phòng họp", chaired_by="A",
                secretary="B", attendees_present=2, attendees_total=3, vote_for=2,
                absent=[{"full_name": "C", "reason": "ốm"}])
    return MeetingInput(**{**base, **kw})


def test_meeting_facts_must_add_up():
    assert meeting_problems(_meeting(), ["A", "B", "C"]) == []
    assert len(meeting_problems(_meeting(vote_for=3), ["A", "B", "C"])) == 1
    assert len(meeting_problems(_meeting(absent=[]), ["A", "B", "C"])) == 1
    assert len(meeting_problems(_meeting(ended_at=datetime(2025, 3, 10, 7, 0, tzinfo=VN)), ["A", "B", "C"])) == 1
    assert len(meeting_problems(_meeting(chaired_by="Z"), ["A", "B", "C"])) == 1


def test_meeting_input_reads_forms_and_files():
    m = meeting_input({"start": "2025-03-10 08:00", "end": "10:30", "place": "P", "chaired_by": "A", "secretary": "B",
                       "attendees_present": "2", "attendees_total": "3", "vote_for": "2", "absent": "C = ốm"})
    assert m.ended_at == datetime(2025, 3, 10, 10, 30, tzinfo=VN) and m.absent == [{"full_name": "C", "reason": "ốm"}]
    with pytest.raises(InvalidInput):
        meeting_input({"start": "hôm qua"})
    with pytest.raises(InvalidInput):
        meeting_input({"start": "2025-03-10 08:00", "end": "10:00", "attendees_present": "hai"})


def test_district_names_are_flagged_after_july_2025():
    ctx = {"header": {"parent_org": "ỦY BAN NHÂN DÂN QUẬN BA ĐÌNH", "issuer": "TRƯỜNG TIỂU HỌC KIM ĐỒNG"},
           "recipients": ["- Phòng GDĐT huyện Gia Lâm (để b/c);"]}
    assert len(district_names(ctx, date(2025, 7, 1))) == 2
    assert district_names(ctx, date(2025, 6, 30)) == []
    assert district_names({"header": {"issuer": "PHÒNG VĂN HÓA - XÃ HỘI PHƯỜNG BA ĐÌNH"}}, date(2026, 1, 5)) == []


def test_register_cells_never_run_as_formulas_and_show_no_apostrophe():
    import io

    from openpyxl import load_workbook

    hostile = ('=HYPERLINK("http://203.0.113.9/x","Bấm")', "+84", "-3", "@SUM", "\tx", "Quyết định")
    line = RegisterLine(1, "01", "QĐ-TH", "05/03/2026", hostile[0], hostile[1], hostile[2], hostile[3], hostile[4])
    xlsx = register_xlsx([line])
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet
    cells = {c.value: c for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows(min_row=3) for c in row}
    for value in hostile[:5]:
        assert value in cells and cells[value].data_type == "s" and cells[value].quotePrefix, value
    assert not any(str(v).startswith("'") for v in cells)


def test_docs_check_catches_an_empty_results_table_and_points_that_contradict_the_level():
    ctx = sample_context("to_trinh")
    assert check_docx(render("to_trinh", ctx), "to_trinh") == []
    empty = render("to_trinh", {**ctx, "group_results": []})
    assert any("không có dòng nào" in p for p in check_docx(empty, "to_trinh"))
    wrong = [{**ctx["group_results"][0], "points": "48", "level": "Mức 3"}, *ctx["group_results"][1:]]
    problems = check_docx(render("to_trinh", {**ctx, "group_results": wrong}), "to_trinh")
    assert problems == ["dòng «1 | Chuyển đổi số trong dạy, học»: 48 điểm nhưng ghi Mức 3 (theo bộ chỉ số 4725: Mức 1)"]
    annex = sample_context("qd_cong_nhan", rows=3)
    row = annex["recognition_groups"][0]["rows"][0]
    row.update(p1="48", l1="Mức 3")
    assert any("48 điểm nhưng ghi Mức 3" in p for p in check_docx(render("qd_cong_nhan", annex), "qd_cong_nhan"))
