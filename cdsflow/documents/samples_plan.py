"""Sample contexts of the authority's Kế hoạch and Công văn triển khai (for `docs sample` and the
template tests): the real builders over the sample units, sections from the shipped defaults."""
from __future__ import annotations

from cdsflow.documents import contexts_plan as cp
from cdsflow.documents import sections as sx
from cdsflow.documents.contexts import Issue


def plan_sample(code: str, bureau, campaign, milestones, issue: Issue, *, hostile: bool = False) -> dict:
    area = "trên địa bàn xã Hùng Thắng"
    contact = cp.Contact("Nguyễn Bích Ngọc", "Chuyên viên", "ngocnb@example.edu.vn", "0975734044")
    values = {"issuer": bureau.name, "issuer_short": bureau.short_code, "area": area,
              "school_year": campaign.school_year, "index_sets": "Quyết định số 4725/QĐ-BGDĐT",
              "index_set_names": "«Bộ chỉ số đánh giá mức độ chuyển đổi số của cơ sở giáo dục phổ thông và giáo dục "
                                 "thường xuyên» ban hành kèm theo Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022",
              "superior": "Sở Giáo dục và Đào tạo Hải Phòng", "link": "https://example.edu.vn/nop-ho-so?a=1&b=<2>",
              "contact": contact.sentence()}
    appended = {"authority": cp.deadline_lines(milestones, "bureau"), "school": cp.deadline_lines(milestones, "school"),
                "process": cp.process_lines(milestones, bureau)}
    name = cp.PLAN_TEXTS if code == "ke_hoach_authority" else cp.LETTER_TEXTS
    final = sx.final_sections(name, sx.default_texts(name, values, appended),
                              {"requirements": "- Khách quan & <trung thực>."} if hostile else {})
    subject = sx.subject_of(name).format_map(values)
    if code == "ke_hoach_authority":
        return cp.ke_hoach_authority(bureau, campaign, milestones, issue, subject=subject, sections=final, area=area)
    return cp.cong_van_trien_khai(bureau, campaign, issue, subject=subject, sections=final,
                                  addressees=["Trường Tiểu học Hùng Thắng", "Trường Mầm non Hoa Sen & <Sen>"
                                              if hostile else "Trường Mầm non Hoa Sen"])
