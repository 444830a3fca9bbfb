"""Reminders rendered once and spliced per school are byte for byte what Jinja renders for each."""
from __future__ import annotations

import shutil

import pytest

from cdsflow.kernel.errors import InvalidInput
from cdsflow.notifications.rendering import TEMPLATE_DIR, TemplateSet, default_templates

PER_SCHOOL = ("campaign_title", "school_name", "current_stage_label", "link")
COMMON = {"milestone_title": "Thành lập Hội đồng tự đánh giá", "stage_label": "Đã thành lập Hội đồng",
          "deadline": "23:59 ngày 31/01/2025", "days_left_text": "đã quá hạn 4 ngày", "overdue": True,
          "sender_name": "Hệ thống đánh giá chuyển đổi số", "now_text": "07:00 ngày 04/02/2025",
          "next_step": "Ban hành quyết định thành lập Hội đồng & gửi lên hệ thống."}
SCHOOLS = [
    {"campaign_title": "Kế hoạch số 12/KH-SGDĐT (Phòng VH-XH phường Ba Đình)", "school_name": "Trường Tiểu học Số 1",
     "current_stage_label": "Đã ban hành kế hoạch", "link": "https://cds.example.vn/assessments/1"},
    {"campaign_title": "Kế hoạch <b>GD&ĐT</b> \"2025\"", "school_name": "Trường Mầm non Hoa Sen & <Ba Đình>",
     "current_stage_label": "Tự đánh giá", "link": "https://cds.example.vn/assessments/2?x=1&y=\"2\""},
    {"campaign_title": "Kế hoạch", "school_name": "Trường THCS Nguyễn Trãi 'cơ sở 2'", "current_stage_label": "Tờ trình",
     "link": "https://cds.example.vn/assessments/3"},
    {"campaign_title": "Kế hoạch {0} {name}", "school_name": "Trường {school_name} }{", "current_stage_label": "x",
     "link": "https://cds.example.vn/assessments/4#{}"},
]


@pytest.mark.parametrize("overdue", [True, False])
def test_spliced_reminders_equal_jinja_mail_by_mail(overdue):
    templates = default_templates()
    common = {**COMMON, "overdue": overdue}
    splicer = templates.splicer("reminder", {**common, **SCHOOLS[0]}, PER_SCHOOL)
    assert splicer is not None
    for school in SCHOOLS:
        assert splicer.render({**common, **school}) == templates.render("reminder", {**common, **school})


def test_a_template_that_does_more_than_print_a_value_is_rendered_mail_by_mail(tmp_path):
    shutil.copytree(TEMPLATE_DIR, tmp_path / "t")
    html = tmp_path / "t" / "reminder.html.j2"
    html.write_text(html.read_text(encoding="utf-8").replace("{{ school_name }}", "{{ school_name|upper }}"),
                    encoding="utf-8")
    templates = TemplateSet(tmp_path / "t")
    assert templates.splicer("reminder", {**COMMON, **SCHOOLS[0]}, PER_SCHOOL) is None
    assert templates.splicer("reminder", {**COMMON, **SCHOOLS[0]}, ("link",)) is not None


def test_a_missing_value_is_named_in_vietnamese():
    with pytest.raises(InvalidInput, match="Thiếu dữ liệu cho mẫu thư reminder"):
        default_templates().splicer("reminder", {"school_name": "x"}, PER_SCHOOL)


DIGEST = {**COMMON, "now_text": "07:00 ngày 04/02/2025", "campaign_title": "Kế hoạch <b>GD&ĐT</b> {năm}",
          "supervisor_name": "Phòng Văn hóa – Xã hội phường Ba Đình & <Hoàn Kiếm>",
          "link": "https://cds.example.vn/campaigns/2?a=1&b=2"}
DIGEST_VALUES = ("campaign_title", "supervisor_name", "count", "link")


@pytest.mark.parametrize("n", [0, 1, 3, 17])
def test_spliced_digests_equal_jinja_for_any_number_of_schools(n):
    templates = default_templates()
    schools = [{"name": f"Trường Tiểu học {{Số}} {i} & <Hoa Sen> \"A\"", "stage_label": "Đã ban hành kế hoạch"}
               for i in range(n)]
    context = {**DIGEST, "count": n, "schools": schools}
    splicer = templates.list_splicer("overdue_digest", {**DIGEST, "count": 0, "schools": []}, DIGEST_VALUES,
                                     "schools", ("name", "stage_label"))
    assert splicer is not None
    assert splicer.render(context, schools) == templates.render("overdue_digest", context)


@pytest.mark.parametrize("change", [("{% for s in schools -%}", "{% for s in schools|sort(attribute='name') -%}"),
                                    ("{{ s.name }}", "{{ s.name|upper }}"),
                                    ("{{ count }}", "{{ schools|length }}"),
                                    ("{{ loop.index }}", "{{ loop.revindex }}")])
def test_a_digest_template_that_does_more_than_print_its_list_is_rendered_by_jinja(tmp_path, change):
    shutil.copytree(TEMPLATE_DIR, tmp_path / "t")
    txt = tmp_path / "t" / "overdue_digest.txt.j2"
    assert change[0] in txt.read_text(encoding="utf-8")
    txt.write_text(txt.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    templates = TemplateSet(tmp_path / "t")
    assert templates.list_splicer("overdue_digest", {**DIGEST, "count": 0, "schools": []}, DIGEST_VALUES,
                                  "schools", ("name", "stage_label")) is None
