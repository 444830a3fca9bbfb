"""Fan-out into the outbox on SQLite and PostgreSQL: who gets mail, once, in one transaction."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.notifications.outbox import claim_batch
from cdsflow.services.fanout import fan_out_reminder, plan_reminder
from cdsflow.services.notices import enqueue_transactional
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage
from tests.integration.test_mail_support import VN, seed_campaign

BEFORE = datetime(2025, 3, 28, 8, 0, tzinfo=VN)
AFTER = datetime(2025, 4, 2, 8, 0, tzinfo=VN)
STATES = ["self_assessment", "proposal", "plan_issued", "external_review", "committee_formed"]


def _rows(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_only_schools_not_yet_at_the_stage_are_reminded_once_per_address(engine):
    seeded = seed_campaign(engine, STATES, emails_per_school=2)
    with UnitOfWork(engine) as uow:
        assert fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-3", BEFORE) == 6
        uow.commit()
    rows = _rows(engine)
    # Schools 1 (proposal) and 3 (external_review) have reached "proposal": no mail for them.
    assert {r.recipient for r in rows} == {f"school{i}.{k}@example.edu.vn" for i in (0, 2, 4) for k in (0, 1)}
    assert {r.kind for r in rows} == {"reminder"}
    first = rows[0]
    assert first.subject.startswith("[Nhắc hạn] Gửi tờ trình")
    assert "23:59 ngày 31 tháng 3 năm 2025" in first.body_text and "còn 3 ngày" in first.body_text
    assert "Trường Tiểu học Số 0" in first.body_text and "Việc cần làm" in first.body_text
    # The HTML part escapes user text: "GD&ĐT" in the campaign title stays well-formed.
    assert "Phòng GD&amp;ĐT" in first.body_html
    assert f"/assessments/{seeded.assessment_ids[0]}" in first.body_text
    assert first.headers == {"Reply-To": "pgd@badinh.edu.vn"}  # the issuing bureau answers
    # Same job firing again (restart, misfire catch-up): nothing new.
    with UnitOfWork(engine) as uow:
        assert fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-3", BEFORE) == 0
        uow.commit()
    assert len(_rows(engine)) == 6


def test_overdue_sends_one_digest_per_supervisor_listing_its_late_schools(engine):
    seeded = seed_campaign(engine, STATES, bureau_emails="pgd@badinh.edu.vn, lanhdao@badinh.edu.vn")
    with UnitOfWork(engine) as uow:
        assert fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "overdue-2", AFTER) == 3 + 2
        uow.commit()
    digests = [r for r in _rows(engine) if r.kind == "overdue_digest"]
    assert sorted(d.recipient for d in digests) == ["lanhdao@badinh.edu.vn", "pgd@badinh.edu.vn"]
    body = digests[0].body_text
    assert "3 cơ sở giáo dục" in body and "đã quá hạn 2 ngày" in body
    for i in (0, 2, 4):
        assert f"Trường Tiểu học Số {i} –" in body
    assert "Trường Tiểu học Số 1 –" not in body
    late_reminders = [r for r in _rows(engine) if r.kind == "reminder"]
    assert all(r.subject.startswith("[Quá hạn]") for r in late_reminders)


def test_a_failure_inside_the_transaction_leaves_the_outbox_untouched(engine):
    seeded = seed_campaign(engine, STATES)
    with pytest.raises(RuntimeError):
        with UnitOfWork(engine) as uow:
            assert fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-1", BEFORE) == 3
            raise RuntimeError("crash before commit")
    assert _rows(engine) == []
    with UnitOfWork(engine) as uow:
        assert fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-1", BEFORE) == 3
        uow.commit()


def test_draft_or_closed_campaigns_send_nothing_and_unknown_milestones_are_refused(engine):
    seeded = seed_campaign(engine, STATES, status="closed")
    with Session(engine) as s:
        plan = plan_reminder(s, seeded.campaign_id, "to_trinh", "before-3", BEFORE)
        assert plan.rows == [] and "Đã kết thúc" in plan.skipped_reason
        with pytest.raises(NotFound, match="không có mốc thời gian 'khong_co'"):
            fan_out_reminder(s, seeded.campaign_id, "khong_co", "before-3", BEFORE)
        with pytest.raises(NotFound):
            fan_out_reminder(s, 999, "to_trinh", "before-3", BEFORE)


def test_transactional_mail_is_queued_once_per_event(engine, tmp_path):
    seeded = seed_campaign(engine, STATES)
    aid = seeded.assessment_ids[0]
    with UnitOfWork(engine) as uow:
        with pytest.raises(InvalidInput, match="lý do"):
            enqueue_transactional(uow.session, "returned", aid, {"reason": "  "})
        enqueue_transactional(uow.session, "returned", aid, {"reason": "Thiếu minh chứng tiêu chí 1.2", "event_id": 7})
        # The request is retried: same event, no second mail.
        enqueue_transactional(uow.session, "returned", aid, {"reason": "Thiếu minh chứng tiêu chí 1.2", "event_id": 7})
        enqueue_transactional(uow.session, "proposal_received", aid, {"event_id": 8})
        decision = tmp_path / "Quyết định công nhận.docx"
        decision.write_bytes(b"PK fake docx")
        enqueue_transactional(uow.session, "recognised", aid, {"event_id": 9, "level": "Mức 2",
                                                              "decision_path": str(decision)})
        uow.commit()
    rows = _rows(engine)
    assert [r.kind for r in rows] == ["returned", "proposal_received", "proposal_received", "recognised"]
    assert "Lý do: Thiếu minh chứng tiêu chí 1.2" in rows[0].body_text
    assert {r.recipient for r in rows if r.kind == "proposal_received"} == {
        "school0.0@example.edu.vn", "pgd@badinh.edu.vn"}
    assert rows[3].attachments == [str(decision.resolve())]
    assert "Mức 2" in rows[3].subject and "đính kèm" in rows[3].body_text


def test_claims_take_each_row_once(engine):
    seeded = seed_campaign(engine, ["plan_issued"] * 30)
    with UnitOfWork(engine) as uow:
        fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-3", BEFORE)
        uow.commit()
    now = datetime(2025, 3, 28, 9, 0, tzinfo=VN)
    with Session(engine) as a:
        first = claim_batch(a, now, 20)
        a.commit()
    with Session(engine) as b:
        second = claim_batch(b, now, 20)
        b.commit()
    assert len(first) == 20 and len(second) == 10
    assert not {m.id for m in first} & {m.id for m in second}


@pytest.mark.postgres
def test_concurrent_claims_on_postgres_skip_locked_rows(postgres_engine):
    seeded = seed_campaign(postgres_engine, ["plan_issued"] * 30)
    with UnitOfWork(postgres_engine) as uow:
        fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-3", BEFORE)
        uow.commit()
    now = datetime(2025, 3, 28, 9, 0, tzinfo=VN)
    # Two senders claim at the same time: the first holds its row locks (not yet committed).
    with Session(postgres_engine) as a, Session(postgres_engine) as b:
        first = claim_batch(a, now, 20)
        second = claim_batch(b, now, 20)
        assert len(first) == 20 and len(second) == 10
        assert not {m.id for m in first} & {m.id for m in second}
        a.commit()
        b.commit()
    with Session(postgres_engine) as s:
        assert s.scalar(select(func.count()).where(OutboxMessage.status == "sending")) == 30


def test_a_bureau_milestone_reminds_the_bureau_with_one_digest_before_the_deadline(engine):
    seeded = seed_campaign(engine, STATES, actor="bureau", milestone_stage="recognition")
    with UnitOfWork(engine) as uow:
        assert fan_out_reminder(uow.session, seeded.campaign_id, "to_trinh", "before-3", BEFORE) == 1
        uow.commit()
    (digest,) = _rows(engine)
    assert digest.kind == "overdue_digest" and digest.recipient == "pgd@badinh.edu.vn"
    assert digest.subject.startswith("[Nhắc hạn – tổng hợp] 5 cơ sở giáo dục")
    assert "còn 3 ngày" in digest.body_text
