"""Context builders: from domain objects to the strings a template prints (no database)."""
import json
from datetime import UTC, date, datetime

import pytest

from cdsflow.calendars.model import Milestone
from cdsflow.documents import contexts as cx
from cdsflow.documents.samples import sample_context, sample_issue, sample_members, sample_recognitions, sample_units
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.stages import Actor, Stage
from cdsflow.storage.tables import CommitteeMember


def test_every_context_is_plain_json_for_the_register():
    for code in cx.BUILDERS:
        ctx = sample_context(code)
        assert json.loads(json.dumps(ctx, ensure_ascii=False)) == ctx


@pytest.mark.parametrize("roles,problem", [
    (["vice_chair", "secretary", "member"], "chưa có Chủ tịch"),  # the committee rule's own words
    (["chair", "chair", "secretary"], "chỉ được có một Chủ tịch"),
    (["chair", "member"], "chưa có Thư ký"),
    (["chair", "secretary", "boss"], "vai trò không hợp lệ"),
])
def test_committee_guard(roles, problem):
    _, school, campaign = sample_units()
    members = [CommitteeMember(assessment_id=1, full_name=f"Nguyễn Văn {i}", role=r) for i, r in enumerate(roles)]
    with pytest.raises(InvalidInput) as err:
        cx.qd_hoi_dong(school, campaign, members, sample_issue("school"))
    assert any(problem in d for d in err.value.details)


def test_legal_bases_and_recipients_punctuation():
    ctx = sample_context("qd_hoi_dong")
    bases = ctx["legal_bases"]
    assert all(b.startswith("Căn cứ ") for b in bases)
    assert [b[-1] for b in bases] == [";"] * (len(bases) - 1) + ["."]
    assert ctx["recipients"][0] == "- Như Điều 3;"
    assert ctx["recipients"][1] == "- Phòng Văn hóa - Xã hội (để b/c);"
    assert ctx["archive_line"] == "- Lưu: VT, VP."
    assert ctx["header"]["issuer"] == "TRƯỜNG TIỂU HỌC HÙNG THẮNG"
    assert ctx["authority_line"] == "HIỆU TRƯỞNG TRƯỜNG TIỂU HỌC HÙNG THẮNG"


def test_consider_line_closes_the_bases():
    _, school, campaign = sample_units()
    issue = sample_issue("school")
    from dataclasses import replace

    ctx = cx.qd_hoi_dong(school, campaign, sample_members(), replace(issue, consider="Xét đề nghị của Tổ trưởng tổ Văn phòng"))
    assert ctx["legal_bases"][-2].endswith(";") and ctx["legal_bases"][-1] == "Xét đề nghị của Tổ trưởng tổ Văn phòng."


def test_plan_timetable_from_calendar_milestones_grouped_by_actor():
    _, school, campaign = sample_units()
    at = lambda m, d: datetime(2026, m, d, 16, 59, 59, tzinfo=UTC)  # noqa: E731
    milestones = [
        Milestone(key="tt", title="Gửi tờ trình", actor=Actor.SCHOOL, stage=Stage.PROPOSAL, due_at=at(3, 31),
                  documents=("to_trinh",)),
        Milestone(key="dg", title="Đánh giá ngoài", actor=Actor.BUREAU, stage=Stage.EXTERNAL_REVIEW, due_at=at(5, 20),
                  opens_at=at(5, 1)),
    ]
    ctx = cx.ke_hoach(school, campaign, milestones, sample_issue("school"))
    groups = ctx["timeline_groups"]
    assert [g["label"] for g in groups] == [cx.ACTOR_LABELS["bureau"], cx.ACTOR_LABELS["school"]]
    assert groups[0]["rows"][0]["when"] == "01/05/2026 - 20/05/2026"  # local dates (Asia/Ho_Chi_Minh)
    assert groups[1]["rows"][0] == {"content": "Gửi tờ trình", "when": "Trước 31/03/2026",
                                    "output": "Tờ trình đề nghị đánh giá ngoài và công nhận", "num": "2"}


def test_draft_annex_reference_leaves_number_and_day_blank():
    ctx = sample_context("qd_hoi_dong", draft=True)
    assert ctx["annex_ref"].startswith("(Kèm theo Quyết định số       /QĐ-THHT ngày      tháng 3 năm 2026")


def test_external_review_team_needs_one_head():
    bureau, _, campaign = sample_units()
    with pytest.raises(InvalidInput):
        cx.qd_doan_danh_gia(bureau, campaign, [{"full_name": "A", "role": "member"}], [], sample_issue("bureau"),
                            period=(date(2026, 5, 1), date(2026, 5, 20)))


def test_recognition_rows_grouped_by_level_and_sorted():
    groups = cx.recognition_groups(sample_recognitions(40))
    assert [g["label"] for g in groups] == ["Mầm non", "Tiểu học", "Trung học cơ sở", "Trung học phổ thông"]
    from cdsflow.documents.vietnamese import text_sort_key

    for g in groups:
        names = [r["school_name"] for r in g["rows"]]
        assert names == sorted(names, key=text_sort_key)
    row = groups[0]["rows"][0]
    assert row["p2"].endswith(",5") and row["l1"].startswith("Mức ")
