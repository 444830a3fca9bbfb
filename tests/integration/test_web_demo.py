"""The demo gives one working login per role, on the demo bureau and one of its schools."""
from __future__ import annotations

from datetime import UTC

from fastapi.testclient import TestClient

from cdsflow.app.web.app import create_app
from cdsflow.services.accounts import DEMO_ACCOUNTS, list_accounts
from cdsflow.services.demo import build_demo
from cdsflow.storage.db import UnitOfWork


def test_demo_logins_reach_their_pages(sqlite_engine, tmp_path):
    with UnitOfWork(sqlite_engine) as uow:
        build_demo(uow)
    with UnitOfWork(sqlite_engine) as uow:
        assert {a.username for a in list_accounts(uow)} == {u for u, *_ in DEMO_ACCOUNTS}
    app = create_app(sqlite_engine, uploads_dir=tmp_path)
    passwords = {u: pw for u, _, _, _, pw in DEMO_ACCOUNTS}
    head = TestClient(app)
    assert head.post("/api/login", json={"username": "hieutruong", "password": passwords["hieutruong"]}).status_code == 200
    page = head.get("/")
    assert page.status_code == 200 and "Đang tự đánh giá" in page.text
    # The history reads as sentences, never as the machine's trigger names.
    assert "Xác nhận thành lập Hội đồng tự đánh giá" in page.text and "form_committee" not in page.text
    officer = TestClient(app)
    officer.post("/api/login", json={"username": "chuyenvien", "password": passwords["chuyenvien"]})
    campaigns = officer.get("/api/campaigns").json()
    assert len(campaigns) == 1 and officer.get(f"/campaigns/{campaigns[0]['id']}").status_code == 200


def test_the_demos_notices_are_still_worth_sending(sqlite_engine):
    """The demo records its steps weeks back; the notices they wrote are sent, not expired."""
    from datetime import datetime

    from sqlalchemy import select

    from cdsflow.app import wiring
    from cdsflow.storage.notifications_tables import OutboxMessage

    wiring.install()
    with UnitOfWork(sqlite_engine) as uow:
        build_demo(uow)
    with UnitOfWork(sqlite_engine) as uow:
        rows = list(uow.session.execute(select(OutboxMessage)).scalars())
    assert rows and all(r.useful_until is None or r.useful_until > datetime.now(UTC) for r in rows)
