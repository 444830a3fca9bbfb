"""Shared by the web tests: a small world (units, one launched campaign, one account per role)."""
from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from cdsflow.app.web.app import create_app
from cdsflow.services.accounts import create_account, set_password_hasher
from cdsflow.services.assessments import find_assessment
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork
from tests.factories import calendar, unit_rows

PASSWORD = "mat-khau-thu-nghiem"
# Cheap argon2 for tests only (the default parameters cost ~0.1 s a hash, by design).
set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
# username → (full name, role, unit code)
ACCOUNTS = {
    "admin": ("Quản Trị Viên", "admin", None),
    "officer": ("Trần Minh Tuấn", "officer", "P1"),
    "reviewer": ("Phạm Quang Hùng", "reviewer", "P1"),
    "head": ("Nguyễn Thị Hoa", "school_head", "P1S1"),
    "member": ("Vũ Ngọc Lan", "committee", "P1S1"),
    "clerk": ("Đỗ Thanh Mai", "clerk", "P1"),
    "officer2": ("Lê Văn Bình", "officer", "P2"),
    "head2": ("Hoàng Thị Yến", "school_head", "P2S1"),
    "dept": ("Lê Thu Hà", "officer", "SGD"),
}
COMMITTEE = [
    {"full_name": "Nguyễn Thị Hoa", "role": "chair", "position": "Hiệu trưởng"},
    {"full_name": "Trần Văn Nam", "role": "vice_chair", "position": "Phó Hiệu trưởng"},
    {"full_name": "Lê Thị Mai", "role": "secretary", "position": "Giáo viên tin học"},
]


@dataclass
class World:
    engine: object
    app: object
    campaign_id: int
    p1s1: int  # assessment ids
    p1s2: int
    p2s1: int

    def client(self, username: str | None = None) -> TestClient:
        c = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        if username:
            r = c.post("/api/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c


def _rows():
    """The shared test units, with document symbols made of letters (a paper's number needs them)."""
    rows = unit_rows()
    for n, (_, row) in enumerate(rows):
        if row["kind"] == "Trường":
            row["short_code"] = "TH" + chr(65 + n // 26) + chr(65 + n % 26)
    return rows


def build_world(engine, tmp_path) -> World:
    with UnitOfWork(engine) as uow:
        import_units(uow, _rows())
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(), spawn_children=True)
    with UnitOfWork(engine) as uow:
        for username, (name, role, unit) in ACCOUNTS.items():
            create_account(uow, username=username, full_name=name, role=role, password=PASSWORD, unit_code=unit)
        ids = [find_assessment(uow, code).id for code in ("P1S1", "P1S2", "P2S1")]
        from cdsflow.storage.tables import Assessment, Campaign

        campaign_id = uow.session.get(Campaign, uow.session.get(Assessment, ids[0]).campaign_id).id
    from cdsflow.documents.settings import update_settings

    update_settings(engine, "P1", {"signer_name": "Lê Văn Phúc"})  # the bureau names its signer once
    app = create_app(engine, uploads_dir=tmp_path / "uploads")
    return World(engine, app, campaign_id, *ids)


def _json_answers(engine, aid: int, strength: float):
    """(index set, plausible answers for every item as JSON values) of one assessment."""
    from cdsflow.services.demo import demo_answers
    from cdsflow.services.indexsets import index_set_for_assessment

    with UnitOfWork(engine) as uow:
        index_set = index_set_for_assessment(uow.session, aid)
    return index_set, {k: (float(v) if not isinstance(v, (bool, int, str)) else v)
                       for k, v in demo_answers(index_set, strength).items()}


def fill_self_assessment(client, engine, aid: int, strength: float = 0.8) -> dict:
    """Every item answered and evidence per criterion, through the web API (as a school would)."""
    index_set, answers = _json_answers(engine, aid, strength)
    r = client.put(f"/api/assessments/{aid}/scores", json={"phase": "self", "answers": answers})
    assert r.status_code == 200, r.text
    for code in index_set.criteria:
        r = client.post(f"/api/assessments/{aid}/evidence",
                        json={"criterion": code, "title": f"Minh chứng {code}", "link": f"https://truong.edu.vn/{code}"})
        assert r.status_code == 201, r.text
    return r.json()


def form_review_team(world: World, *usernames: str) -> None:
    """The officer forms the campaign's review team, linking members to their logins (the first heads it)."""
    members = [{"full_name": ACCOUNTS[u][0], "role": "head" if i == 0 else "secretary", "username": u}
               for i, u in enumerate(usernames)]
    from freezegun import freeze_time

    from tests.conftest import BEFORE_THE_REVIEW

    with freeze_time(BEFORE_THE_REVIEW, tick=True):  # formed before the 2025 review period (the calendar's) ends
        r = world.client("officer").put(f"/api/campaigns/{world.campaign_id}/team", json={"members": members})
    assert r.status_code == 200, r.text


def fill_external_review(client, engine, aid: int, strength: float = 0.6) -> dict:
    """Every item scored by the review team, through the web API."""
    _, answers = _json_answers(engine, aid, strength)
    r = client.put(f"/api/assessments/{aid}/scores", json={"phase": "external", "answers": answers})
    assert r.status_code == 200, r.text
    return r.json()
