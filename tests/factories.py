"""Builders for test data, going through the real services (no hand-made rows)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cdsflow.calendars.model import Calendar, Milestone, SubmissionPolicy
from cdsflow.kernel.stages import Actor, Stage
from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def unit_rows(n_schools_per_bureau: int = 3, bureaus: int = 2) -> list[tuple[int, dict]]:
    rows = [{"code": "SGD", "name": "Sở Giáo dục và Đào tạo Hà Nội", "kind": "Sở", "short_code": "SGDĐT",
             "place_name": "Hà Nội", "emails": "sgd@hanoi.edu.vn"}]
    for b in range(1, bureaus + 1):
        rows.append({"code": f"P{b}", "name": f"Phòng Giáo dục và Đào tạo số {b}", "kind": "Phòng",
                     "short_code": "PGDĐT", "place_name": "Ba Đình", "supervisor_code": "SGD",
                     "emails": f"p{b}@hanoi.edu.vn"})
        for s in range(1, n_schools_per_bureau + 1):
            rows.append({"code": f"P{b}S{s}", "name": f"Trường Tiểu học Số {b}.{s}", "kind": "Trường",
                         "education_level": "Tiểu học", "supervisor_code": f"P{b}", "place_name": "Ba Đình",
                         "emails": f"p{b}s{s}@hanoi.edu.vn"})
    rows.append({"code": "THPT1", "name": "Trường THPT Phan Đình Phùng", "kind": "Trường",
                 "education_level": "THPT", "supervisor_code": "SGD", "emails": "pdp@hanoi.edu.vn"})
    rows.append({"code": "MN1", "name": "Trường Mầm non Hoa Sen", "kind": "Trường",
                 "education_level": "Mầm non", "supervisor_code": "P1", "emails": "mn1@hanoi.edu.vn"})
    return list(enumerate(rows, start=2))


def load_units(engine, **kw) -> None:
    with UnitOfWork(engine) as uow:
        import_units(uow, unit_rows(**kw))


def calendar(year: int = 2024, *, cap: int | None = None) -> Calendar:
    """A Ba Đình-like timetable: committee by 31/1, proposal by 31/3, review in May."""
    end = lambda m, d, y=year + 1: datetime(y, m, d, 23, 59, 59, 999999, tzinfo=VN)  # noqa: E731
    return Calendar(
        issuer="Phòng GDĐT thử nghiệm",
        school_year=f"{year}-{year + 1}",
        milestones=(
            Milestone("hoi-dong", "Thành lập Hội đồng tự đánh giá", Actor.SCHOOL, Stage.COMMITTEE_FORMED, end(1, 31)),
            Milestone("to-trinh", "Tự đánh giá và gửi tờ trình", Actor.SCHOOL, Stage.PROPOSAL, end(3, 31),
                      submission=SubmissionPolicy(max_submissions=cap) if cap else None),
            Milestone("danh-gia-ngoai", "Đánh giá ngoài", Actor.BUREAU, Stage.EXTERNAL_REVIEW, end(5, 20)),
            Milestone("cong-nhan", "Công nhận", Actor.BUREAU, Stage.RECOGNITION, end(5, 30)),
        ),
    )


def complete_self_assessment(engine, assessment_id: int, strength: float = 0.8) -> None:
    """Score every item and attach evidence, through the real scoring services."""
    from cdsflow.services.demo import prepare_proposal

    with UnitOfWork(engine) as uow:
        prepare_proposal(uow, assessment_id, "Thư ký Hội đồng", datetime(2025, 3, 1, tzinfo=VN), strength)


def complete_external_review(engine, assessment_id: int, reviewer, strength: float = 0.7) -> None:
    """The review team scores every item (through the real scoring use-case) while the file is in review."""
    from cdsflow.services.demo import demo_answers
    from cdsflow.services.indexsets import index_set_for_assessment
    from cdsflow.services.scoring import save_answers

    with UnitOfWork(engine) as uow:
        index_set = index_set_for_assessment(uow.session, assessment_id)
        save_answers(uow.session, assessment_id, "external", demo_answers(index_set, strength), reviewer)
        uow.commit()


def issue_recognition_decision(engine, campaign_id: int):
    """The numbered Quyết định công nhận of the campaign, through the documents use-case."""
    from cdsflow.documents.settings import update_settings
    from cdsflow.services.papers import generate
    from cdsflow.storage.tables import Campaign, Unit

    with UnitOfWork(engine) as uow:  # the authority names its signer once
        issuer = uow.session.get(Unit, uow.session.get(Campaign, campaign_id).issuer_id)
    update_settings(engine, issuer.code, {"signer_name": "Lê Văn Phúc"})
    record, _ = generate(engine, "qd_cong_nhan", campaign_id=campaign_id, actor="Văn thư")
    return record


def tiny_pdf(note: str = "") -> bytes:
    """A real one-page PDF (uploads are checked by content); `note` makes its bytes unique."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if note:
        writer.add_metadata({"/Subject": note})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
