"""Authorization matrix: every role against every endpoint, expected statuses as a table.

Writes carry version 0, so a request that passes the role and scope checks stops at the stale-version
check (409) or at the step's own rule (422) and changes nothing: the table shows who got through.
A reviewer is not yet a member of any review team here, so the review steps refuse them (403).
"""
from __future__ import annotations

import pytest

from tests.web_support import build_world

ROLES = ["anon", "admin", "officer", "reviewer", "head", "member", "clerk", "officer2", "head2"]
# endpoint                                 anon admin off  rev  head mem  clerk off2 head2
MATRIX = """
GET  /api/me                               401  200  200  200  200  200  200  200  200
GET  /api/campaigns                        401  200  200  200  403  403  200  200  403
GET  /api/campaigns/{c}                    401  200  200  200  403  403  200  404  403
GET  /api/campaigns/{c}/schools            401  200  200  200  403  403  200  404  403
POST /api/campaigns:launch                 401  403  422  403  403  403  403  422  403
POST /api/campaigns/{c}/advance:close      401  403  422  403  403  403  403  404  403
POST /api/campaigns/{c}/bulk:start_review  401  403  200  403  403  403  403  404  403
GET  /api/assessments/{a}                  401  200  200  200  200  200  200  404  404
GET  /api/assessments/{a}/history          401  200  200  200  200  200  200  404  404
PUT  /api/assessments/{a}/committee        401  403  403  403  409  403  403  404  404
POST /api/assessments/{a}/transitions:form_committee        401  403  403  403  409  403  403  404  404
POST /api/assessments/{a}/transitions:start_self_assessment 401  403  403  403  409  403  403  404  404
POST /api/assessments/{a}/transitions:submit_proposal       401  403  403  403  409  403  403  404  404
POST /api/assessments/{a}/transitions:start_review          401  403  409  403  403  403  403  404  404
POST /api/assessments/{a}/transitions:return_for_supplement 401  403  409  403  403  403  403  404  404
POST /api/assessments/{a}/transitions:recognise             401  403  409  403  403  403  403  404  404
POST /api/assessments/{a}/transitions:publish               401  403  409  403  403  403  403  404  404
POST /api/campaigns/{c}/remind            401  403  422  403  403  403  403  404  403
GET  /api/assessments/{a}/scores           401  200  200  200  200  200  200  404  404
PUT  /api/assessments/{a}/scores           401  403  403  403  200  200  403  404  404
POST /api/assessments/{a}/scores/preview   401  403  403  403  200  200  403  404  404
GET  /api/assessments/{a}/evidence         401  200  200  200  200  200  200  404  404
POST /api/assessments/{a}/evidence         401  403  403  403  422  422  403  404  404
GET  /api/documents                        401  200  200  200  200  200  200  200  200
POST /api/assessments/{a}/documents        401  403  422  403  422  403  422  404  404
POST /api/campaigns/{c}/documents          401  403  422  403  403  403  422  404  403
GET  /api/public/campaigns/{c}             404  404  404  404  404  404  404  404  404
GET  /api/campaigns/{c}/team                401  200  200  200  403  403  200  404  403
PUT  /api/campaigns/{c}/team                401  403  422  403  403  403  403  404  403
PUT  /api/campaigns/{c}/team/visits         401  403  422  403  403  403  403  404  403
GET  /campaigns                            303  200  200  200  403  403  200  200  403
GET  /campaigns/{c}                        303  200  200  200  403  403  200  404  403
GET  /campaigns/{c}/schools                303  200  200  200  403  403  200  404  403
GET  /campaigns/{c}/province               303  200  200  200  403  403  200  404  403
GET  /campaigns/{c}/schools.xlsx           303  200  200  200  403  403  200  404  403
GET  /campaigns/{c}/team                   303  200  200  200  403  403  200  404  403
POST /campaigns/{c}/team                   401  403  422  403  403  403  403  404  403
GET  /assessments/{a}                      303  200  200  200  200  200  200  404  404
GET  /accounts                             303  200  403  403  403  403  403  403  403
GET  /mailbox                              303  200  403  403  403  403  403  403  403
POST /mailbox/retry                        401  422  403  403  403  403  403  403  403
GET  /results/{c}                          404  404  404  404  404  404  404  404  404
GET  /                                     303  303  303  303  303  303  303  303  303
"""


def _rows():
    for line in MATRIX.strip().splitlines():
        method, target, *codes = line.split()
        path, _, arg = target.partition(":")
        yield method, path, arg, dict(zip(ROLES, map(int, codes), strict=True))


ROWS = list(_rows())


def _body(path: str, arg: str):
    if path.endswith("/transitions"):
        return {"trigger": arg, "version": 0, "reason": "kiểm tra"}
    if path.endswith("/committee"):
        return {"version": 0, "members": [{"full_name": "Nguyễn Văn A", "role": "chair"}]}
    if path.endswith(("/advance", "/bulk")):
        return {"trigger": arg}
    if path.endswith("/remind"):
        return {"milestone": "khong-co"}
    if "/scores" in path:
        return {"phase": "self", "answers": {}}
    if path.endswith("/evidence"):
        return {"criterion": "khong-co", "title": "x", "link": "https://a.vn"}
    if path.endswith("/team"):
        return {"members": []}
    if path.endswith("/team/visits"):
        return {"visits": []}
    if path.endswith("/documents"):
        return {"doc_type": "khong-co"}
    if path == "/api/campaigns":
        return {"school_year": "năm nay"}
    return None


@pytest.mark.parametrize("role", ROLES)
def test_role_against_every_endpoint(sqlite_engine, tmp_path, role):
    world = build_world(sqlite_engine, tmp_path)
    client = world.client(None if role == "anon" else role)
    got, want = {}, {}
    for method, path, arg, codes in ROWS:
        url = path.format(c=world.campaign_id, a=world.p1s1)
        r = client.request(method, url, json=_body(path, arg))
        key = f"{method} {path}{':' + arg if arg else ''}"
        got[key], want[key] = r.status_code, codes[role]
        if r.status_code >= 400 and url.startswith("/api/"):
            assert r.json()["error"], key  # every refusal says why, in Vietnamese
    assert got == want
