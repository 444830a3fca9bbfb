"""The reminders panel as a Phòng officer meets it: the milestone with schools behind comes
preselected, the recipients and the rendered mail are shown before sending (by the same renderer
that queues them), a count of 0 says why, and links in the mail point at the server itself."""
from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment
from tests.factories import VN
from tests.web_support import build_world

NOW = datetime(2025, 3, 20, 9, 0, tzinfo=VN)  # a Thursday morning, before the proposal deadline


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remind")
    engine = make_engine(f"sqlite:///{tmp / 'web.db'}")
    metadata.create_all(engine)
    w = build_world(engine, tmp)
    # Every school of the campaign formed its committee: nobody is behind the first milestone.
    with UnitOfWork(engine) as uow:
        uow.session.execute(update(Assessment).where(Assessment.campaign_id == w.campaign_id)
                            .values(state="committee_formed"))
        uow.commit()
    yield w
    engine.dispose()


@pytest.fixture
def officer(world):
    with freeze_time(NOW):
        c = world.client("officer")
        token = c.headers.pop("X-CSRF-Token")
        yield c, token


def _outbox(world, milestone: str) -> list[OutboxMessage]:
    with UnitOfWork(world.engine) as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.milestone_key == milestone)
                                        .order_by(OutboxMessage.id)))


def test_the_panel_preselects_the_milestone_schools_are_behind(world, officer):
    c, _ = officer
    page = c.get(f"/campaigns/{world.campaign_id}").text
    options = dict(re.findall(r'<option value="([\w-]+)"( selected)?>', page.split('id="remind-milestone"')[1]
                              .split("</select>")[0]))
    assert options["to-trinh"] == " selected" and options["hoi-dong"] == ""
    assert "Thành lập Hội đồng tự đánh giá: 0 trường chưa hoàn thành" in page
    assert "Tự đánh giá và gửi tờ trình: 3 trường chưa hoàn thành" in page


def test_preview_shows_recipients_and_the_mail_that_is_then_queued(world, officer):
    c, token = officer
    preview = c.get(f"/campaigns/{world.campaign_id}/remind", params={"milestone": "to-trinh"})
    assert preview.status_code == 200
    text = html.unescape(preview.text)
    assert all(f"p1s{i}@hanoi.edu.vn" in text for i in (1, 2)) and "Sẽ gửi" in text
    assert _outbox(world, "to-trinh") == []  # a preview writes nothing
    shown = html.unescape(re.search(r'<pre class="mail">(.*?)</pre>', preview.text, re.S).group(1))
    sent = c.post(f"/campaigns/{world.campaign_id}/remind", data={"csrf_token": token, "milestone": "to-trinh"})
    assert sent.status_code == 200 and "đã xếp" in sent.text
    rows = _outbox(world, "to-trinh")
    assert shown in {r.body_text for r in rows}  # the same renderer, the same mail
    # Links point at the address the officer used, not at a default host and port.
    assert all(f"http://testserver/assessments/{r.assessment_id}" in r.body_text for r in rows if r.kind == "reminder")


def test_a_count_of_zero_says_why(world, officer):
    c, token = officer
    again = html.unescape(c.post(f"/campaigns/{world.campaign_id}/remind",
                                 data={"csrf_token": token, "milestone": "to-trinh"}).text)
    assert re.search(r"hôm nay đã nhắc mốc «Tự đánh giá và gửi tờ trình» lúc 09:00 \(\d+ thư cho 3 trường", again)
    assert "Tự đánh giá và gửi tờ trình: 3 trường chưa hoàn thành; đã nhắc hôm nay lúc 09:00" in again
    nobody = html.unescape(c.get(f"/campaigns/{world.campaign_id}/remind", params={"milestone": "hoi-dong"}).text)
    assert "không có trường nào chậm mốc «Thành lập Hội đồng tự đánh giá»" in nobody and "Gửi " not in nobody
    api = c.post(f"/api/campaigns/{world.campaign_id}/remind", json={"milestone": "to-trinh"},
                 headers={"X-CSRF-Token": token}).json()
    assert api["queued"] == 0 and "hôm nay đã nhắc" in api["message"]


def test_links_use_the_configured_base_url_when_set(world, officer, monkeypatch):
    c, token = officer
    monkeypatch.setenv("CDSFLOW_BASE_URL", "https://cds.badinh.edu.vn/")
    c.post(f"/campaigns/{world.campaign_id}/remind", data={"csrf_token": token, "milestone": "danh-gia-ngoai"})
    rows = _outbox(world, "danh-gia-ngoai")
    assert rows and all("https://cds.badinh.edu.vn/campaigns/" in r.body_text for r in rows)


def test_state_change_mail_written_while_serving_links_to_the_served_address(world, officer):
    c, token = officer
    with UnitOfWork(world.engine) as uow:  # P1S2's file is with the review team
        uow.session.execute(update(Assessment).where(Assessment.id == world.p1s2).values(state="external_review"))
        uow.commit()
        version = uow.session.get(Assessment, world.p1s2).version
    r = c.post(f"/api/assessments/{world.p1s2}/transitions", headers={"X-CSRF-Token": token},
               json={"trigger": "return_for_supplement", "version": version, "reason": "Thiếu minh chứng mục 1.2"})
    assert r.status_code == 200, r.text
    with UnitOfWork(world.engine) as uow:
        rows = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "returned")))
    assert rows and all(f"http://testserver/assessments/{world.p1s2}" in r.body_text for r in rows)
