"""Every route of the app, generated from its route table, probed as an attacker would.

- Cross-unit: for each route that names an object, users of another unit (another bureau's
  officer, another school's head) ask for one of P1's objects and get 403 or 404, never the object.
- CSRF and Origin: every state-changing route refuses a request without the token, and one with
  a valid token sent from a foreign Origin.
- A route missing from ROUTES fails the suite: whoever adds a route says here what it is.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from cdsflow.services.accounts import create_account
from cdsflow.services.units import import_units
from cdsflow.storage.assessment_tables import EvidenceEntry
from cdsflow.storage.db import UnitOfWork
from tests.factories import tiny_pdf
from tests.web_support import PASSWORD, build_world

# What each route names, so the probe knows which object to ask for and who must not get it:
#   open     no login needed (login pages, health)
#   mine     a logged-in user's own things, or a list already filtered to their unit: no id to probe
#   a/c/d/e  an assessment / campaign / document / evidence entry of unit P1 (school P1S1)
#   admin    administrator only (accounts, mailbox)
ROUTES = {
    "GET /api/openapi.json": "open", "GET /api/docs": "open", "GET /docs/oauth2-redirect": "open",
    "POST /api/login": "open", "POST /api/logout": "mine", "GET /api/me": "mine",
    "GET /api/campaigns": "mine", "POST /api/campaigns": "mine",
    "GET /api/campaigns/{campaign_id}": "c", "POST /api/campaigns/{campaign_id}/advance": "c",
    "POST /api/campaigns/{campaign_id}/bulk": "c", "GET /api/campaigns/{campaign_id}/schools": "c",
    "GET /api/assessments/{assessment_id}": "a", "GET /api/assessments/{assessment_id}/history": "a",
    "PUT /api/assessments/{assessment_id}/committee": "a", "POST /api/assessments/{assessment_id}/transitions": "a",
    "GET /api/public/campaigns/{campaign_id}": "open", "POST /api/campaigns/{campaign_id}/remind": "c",
    "GET /api/assessments/{assessment_id}/scores": "a", "PUT /api/assessments/{assessment_id}/scores": "a",
    "POST /api/assessments/{assessment_id}/scores/preview": "a", "GET /api/assessments/{assessment_id}/evidence": "a",
    "POST /api/assessments/{assessment_id}/evidence": "a", "GET /api/documents": "mine",
    "POST /api/assessments/{assessment_id}/documents": "a", "POST /api/campaigns/{campaign_id}/documents": "c",
    "GET /api/campaigns/{campaign_id}/team": "c", "PUT /api/campaigns/{campaign_id}/team": "c",
    "PUT /api/campaigns/{campaign_id}/team/visits": "c",
    "GET /calendars/editor": "mine", "POST /calendars/check": "mine", "POST /calendars": "mine",
    "POST /calendars/export": "mine", "POST /calendars/import": "mine", "GET /campaigns/preview": "mine",
    "GET /login": "open", "POST /login": "open", "POST /logout": "mine", "GET /": "mine",
    "GET /campaigns": "mine", "POST /campaigns": "mine", "GET /campaigns/{campaign_id}": "c",
    "POST /campaigns/{campaign_id}/advance": "c", "POST /campaigns/{campaign_id}/bulk": "c",
    "GET /campaigns/{campaign_id}/remind": "c", "POST /campaigns/{campaign_id}/remind": "c",
    "GET /assessments/{assessment_id}": "a", "POST /assessments/{assessment_id}/committee": "a",
    "POST /assessments/{assessment_id}/transition": "a", "GET /results/{campaign_id}": "open",
    "GET /accounts": "admin", "POST /accounts": "admin", "POST /accounts/{account_id}/active": "admin",
    "GET /assessments/{assessment_id}/scores": "a", "POST /assessments/{assessment_id}/scores": "a",
    "POST /assessments/{assessment_id}/evidence": "a", "GET /assessments/{assessment_id}/answer-sheet.xlsx": "a",
    "POST /assessments/{assessment_id}/answer-sheet": "a", "GET /evidence/{evidence_id}/file": "e",
    "POST /evidence/{evidence_id}/delete": "e", "GET /documents": "mine", "GET /documents/register.xlsx": "mine",
    "POST /documents/{document_id}/void": "d", "GET /assessments/{assessment_id}/documents": "a",
    "POST /assessments/{assessment_id}/documents": "a", "POST /campaigns/{campaign_id}/documents": "c",
    "GET /campaigns/{campaign_id}/documents/{code}/run": "c", "GET /campaigns/{campaign_id}/launch": "c",
    "GET /campaigns/{campaign_id}/documents/{code}/run.xlsx": "c",
    "GET /steering": "mine", "POST /steering": "mine", "POST /campaigns/{campaign_id}/certificates": "c",
    "GET /documents/{document_id}/download": "d", "POST /documents/{document_id}/signed": "d",
    "GET /documents/{document_id}/signed.pdf": "d", "GET /assessments/{assessment_id}/dossier.zip": "a",
    "GET /campaigns/{campaign_id}/papers/{code}": "c", "POST /campaigns/{campaign_id}/papers/{code}": "c",
    "GET /assessments/{assessment_id}/papers/{code}": "a", "POST /assessments/{assessment_id}/papers/{code}": "a",
    "GET /mailbox": "admin", "POST /mailbox/retry": "admin", "GET /mailbox/{message_id}": "admin",
    "GET /campaigns/{campaign_id}/team": "c", "POST /campaigns/{campaign_id}/team": "c",
    "POST /campaigns/{campaign_id}/team/visits": "c", "GET /healthz": "open", "GET /readyz": "open",
    "GET /assessments/{assessment_id}/meeting": "a", "POST /assessments/{assessment_id}/meeting": "a",
    "GET /indexsets": "mine", "GET /indexsets/template.xlsx": "mine", "POST /indexsets/check": "mine",
    "POST /indexsets/publish": "mine", "GET /campaigns/{campaign_id}/schools": "c",
    "GET /campaigns/{campaign_id}/{kind}.xlsx": "c", "GET /campaigns/{campaign_id}/province": "c",
    "GET /api/campaigns/{campaign_id}/province": "c", "GET /campaigns/{campaign_id}/wards": "c",
    "GET /api/campaigns/{campaign_id}/wards": "c", "GET /login/forgot": "open", "POST /login/forgot": "open",
    "GET /login/reset": "open", "POST /login/reset": "open", "GET /me/password": "mine", "POST /me/password": "mine",
    "GET /accounts/{account_id}": "admin", "POST /accounts/{account_id}/edit": "admin",
    "POST /accounts/{account_id}/unlock": "admin", "POST /accounts/{account_id}/link": "admin",
    "POST /accounts/schools": "admin",
    "GET /accounts/schools/{campaign_id}/run": "admin", "GET /accounts/schools/runs/{run_id}.xlsx": "admin",
    "POST /documents/{document_id}/sign": "d",
    # The ward's own schools' accounts: the list is filtered to the ward; each act asks the rulebook's
    # manage_school_accounts for the school (tests/integration/test_ward_accounts.py tries another ward's).
    "GET /ward/accounts": "mine", "POST /ward/accounts/create": "mine",
    "POST /ward/accounts/{account_id}/active": "mine", "POST /ward/accounts/{account_id}/link": "mine",
}
# State-changing routes with no session token by design, and what stands in for it.
NO_CSRF = {
    "POST /api/login": "JSON only, and the Origin check",
    "POST /login/reset": "the mailed link's single-use token is the proof",
}
# Bodies the generated one cannot guess: a real step name, a real file.
OVERRIDES = {
    "POST /api/campaigns/{campaign_id}/bulk": {"json": {"trigger": "start_review"}},
    "POST /campaigns/{campaign_id}/bulk": {"data": {"trigger": "start_review", "confirm": "1"}},
    "POST /documents/{document_id}/signed": {"data": {}, "files": {"file": ("ban-ky.pdf", tiny_pdf(), "application/pdf")}},
}
# Another bureau's officer, its school head, a reviewer of another bureau (on no team of P1's), and an
# officer of another province's Sở.
OUTSIDERS = ("officer2", "head2", "reviewer2", "dept2")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def route_objects(app) -> dict[str, object]:
    """"METHOD path" → route, for every route the app serves (included routers walked)."""
    out: dict[str, object] = {}

    def walk(routes) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif getattr(r, "methods", None):
                out.update({f"{m} {r.path}": r for m in sorted(r.methods - {"HEAD"})})

    walk(app.routes)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cdsflow.storage.db import make_engine
    from cdsflow.storage.schema import metadata

    tmp = tmp_path_factory.mktemp("routes")
    engine = make_engine(f"sqlite:///{tmp / 'web.db'}")
    metadata.create_all(engine)
    w = build_world(engine, tmp)
    with UnitOfWork(engine) as uow:
        import_units(uow, [(2, {"code": "SGD2", "name": "Sở Giáo dục và Đào tạo tỉnh Khác", "short_code": "SGDĐT",
                                "kind": "Sở", "place_name": "Tỉnh Khác"})], source="tỉnh khác")
        create_account(uow, username="reviewer2", full_name="Đinh Văn Khải", role="reviewer", password=PASSWORD,
                       unit_code="P2")
        create_account(uow, username="dept2", full_name="Trịnh Thị Lan", role="officer", password=PASSWORD,
                       unit_code="SGD2")
    w.document_id = _any_document(engine, w)
    (tmp / "uploads" / "evidence").mkdir(parents=True, exist_ok=True)
    (tmp / "uploads" / "evidence" / "bien-ban.pdf").write_bytes(b"%PDF-1.4 test")
    with UnitOfWork(engine) as uow:
        entry = EvidenceEntry(assessment_id=w.p1s1, criterion_code="1.1", title="Biên bản", file_path="bien-ban.pdf",
                              created_at=datetime.now(UTC))
        uow.session.add(entry)
        uow.commit()
        w.evidence_id = entry.id
        from cdsflow.services.accounts import find_account

        w.account_id = find_account(uow, "head").id
    yield w
    engine.dispose()


def _any_document(engine, w) -> int:
    """A paper of school P1S1 in the register (the first its bureau may issue now)."""
    from cdsflow.services.papers import generate
    from cdsflow.workflow.document_types import document_types

    for code in document_types():
        try:
            record, _ = generate(engine, code, school_code="P1S1", campaign_id=w.campaign_id)
        except Exception:  # a paper not due at this stage: try the next type
            continue
        return record.id
    raise AssertionError("không lập được văn bản nào cho P1S1")


def _url(path: str, w, assessment: int | None = None) -> str:
    ids = {"assessment_id": assessment or w.p1s1, "campaign_id": w.campaign_id, "document_id": w.document_id,
           "evidence_id": w.evidence_id, "account_id": w.account_id, "message_id": 1, "code": "ke_hoach",
           "kind": "schools", "run_id": 1}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def test_every_route_is_in_the_probe_table(world):
    served = set(route_objects(world.app))
    missing = sorted(served - set(ROUTES))
    assert not missing, f"routes without an entry in ROUTES (say what they name): {missing}"
    gone = sorted(set(ROUTES) - served)
    assert not gone, f"ROUTES names routes the app no longer serves: {gone}"


def _example(schema: dict, defs: dict, w):
    """The smallest value a JSON schema accepts (ids point at P1's objects)."""
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[1]], defs, w)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _example(schema[key][0], defs, w)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: _example(v, defs, w) for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}), defs, w) for _ in range(schema.get("minItems", 0))]
    return {"integer": 1, "number": 1, "boolean": False, "null": None}.get(kind, "x")


def body_for(route, w) -> dict:
    """Arguments for client.request that pass the route's own validation: form fields or JSON."""
    from fastapi import params
    from pydantic import TypeAdapter

    for key, body in OVERRIDES.items():
        method, path = key.split(" ", 1)
        if path == route.path and method in route.methods:
            return {k: dict(v) for k, v in body.items()}
    form, payload = {}, None
    for field in route.dependant.body_params:
        info = field.field_info
        if isinstance(info, params.File):
            continue
        schema = TypeAdapter(info.annotation).json_schema()
        value = _example(schema, schema.get("$defs", {}), w)
        if isinstance(info, params.Form):
            if field.name.endswith("campaign_id"):
                value = w.campaign_id
            form[field.alias or field.name] = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            payload = value
    return {"json": payload} if payload is not None else {"data": form}


def _probe(client, route, url: str, w, token: str | None = None):
    method = sorted(route.methods - {"HEAD"})[0]
    if method == "GET":
        return client.get(url)
    kwargs = body_for(route, w)
    headers = {"X-CSRF-Token": token} if token else {}
    if "data" in kwargs:
        kwargs["data"] = {"csrf_token": token or "", **kwargs["data"]}
    return client.request(method, url, headers=headers, **kwargs)


def test_users_of_another_unit_get_nothing_of_p1(world):
    tried = leaked = 0
    failures = []
    clients = {u: world.client(u) for u in (*OUTSIDERS, "head")}
    routes = route_objects(world.app)
    for key, kind in ROUTES.items():
        if kind in ("open", "mine"):
            continue
        path = key.split(" ", 1)[1]
        # Another bureau's officer and school head ask for P1S1's objects; for an assessment, the
        # head of P1S1 also asks for its neighbour P1S2's (same bureau, another school).
        probes = [(u, _url(path, world)) for u in OUTSIDERS]
        if kind == "a":
            probes.append(("head", _url(path, world, assessment=world.p1s2)))
        for user, url in probes:
            c = clients[user]
            r = _probe(c, routes[key], url, world, token=c.headers.get("X-CSRF-Token"))
            tried += 1
            if r.status_code not in (403, 404):
                leaked += 1
                failures.append(f"{key} as {user}: {r.status_code} {r.text[:120]}")
    print(f"\ncross-unit probes: {tried} tried, {leaked} leaked")
    assert not failures, "\n".join(failures)


def test_every_state_changing_route_wants_the_token_and_this_origin(world):
    admin = world.client("admin")
    token = admin.headers.pop("X-CSRF-Token")
    routes = route_objects(world.app)
    failures = []
    for key in ROUTES:
        method, path = key.split(" ", 1)
        if method not in UNSAFE:
            continue
        url, body = _url(path, world), body_for(routes[key], world)
        if "data" in body:
            body["data"] = {"csrf_token": token, **body["data"]}
        r = admin.request(method, url, headers={"Origin": "https://evil.example", "X-CSRF-Token": token}, **body)
        if r.status_code != 403:
            failures.append(f"{key} from a foreign origin: {r.status_code}")
        if key in NO_CSRF:
            continue
        body = body_for(routes[key], world)
        r = admin.request(method, url, **body)
        if r.status_code not in (401, 403):
            failures.append(f"{key} without a token: {r.status_code} {r.text[:100]}")
    assert not failures, "\n".join(failures)
