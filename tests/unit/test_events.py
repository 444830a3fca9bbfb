"""The event bus: handlers per event type, and a mail-only event raised with nobody listening is an
error (the mail would otherwise be lost without a word)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdsflow.workflow import events

NOW = datetime(2025, 3, 1, tzinfo=UTC)
LINK = events.PasswordLink(account_id=1, username="demo-th-kd.hieutruong", full_name="Hiệu trưởng Kim Đồng",
                           role="school_head", email="kimdong@hanoi.edu.vn", unit_id=3, purpose="setup",
                           token="t", token_id="h", expires_at=NOW)


@pytest.fixture
def no_handlers(monkeypatch):
    monkeypatch.setattr(events, "_handlers", {})


def test_links_raised_with_no_handler_are_an_error(no_handlers):
    with pytest.raises(RuntimeError, match="wiring.install"):
        events.publish(None, events.PasswordLinksIssued((LINK,), NOW))


def test_handlers_receive_only_their_event_type(no_handlers):
    seen = []
    events.subscribe(lambda session, e: seen.append(("links", len(e.links))), events.PasswordLinksIssued)
    events.subscribe(lambda session, e: seen.append(("moved", e.trigger)))
    events.publish(None, events.PasswordLinksIssued((LINK, LINK), NOW))
    events.publish(None, events.AssessmentMoved(1, 1, 3, "recognise", "external_review", "recognition", "Tuấn", NOW))
    assert seen == [("links", 2), ("moved", "recognise")]
