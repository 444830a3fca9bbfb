"""Bounded pages at a province's shape (issue 24): 60 wards, each a child campaign of the Sở's. The
ward picker finds «Phường Ba Đình» by «ba dinh», the dashboard and the province view show a summary
and one page of wards, the late list filters by ward through the picker (no option per ward), and
`cdsflow campaign status` prints a summary and pages the wards. One world for the module (SQLite)."""
from __future__ import annotations

import re

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from cdsflow.app import cli_core
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.services import ward_picker
from cdsflow.services.accounts import create_account
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from tests.e2e.cli import Cli
from tests.factories import calendar
from tests.web_support import PASSWORD, World

# Ba Đình has the most schools, hence the most late ones; the others are named after real wards
# and numbered communes, so a search without marks must tell them apart.
NAMES = ["Phường Ba Đình", "Phường Hoàn Kiếm", "Phường Đống Đa", "Phường Cầu Giấy", "Xã Đông Anh",
         *[f"Xã Số {n}" for n in range(6, 61)]]
WARDS = len(NAMES)


def _rows() -> list[tuple[int, dict]]:
    rows = [{"code": "SGD", "name": "Sở Giáo dục và Đào tạo Hà Nội", "kind": "Sở", "short_code": "SGDĐT",
             "emails": "sgd@hanoi.edu.vn"}]
    for w, name in enumerate(NAMES, 1):
        rows.append({"code": f"W{w}", "name": name, "kind": "Phòng", "short_code": "VHXH", "supervisor_code": "SGD",
                     "emails": f"w{w}@hanoi.edu.vn"})
        for s in range(1, (4 if w == 1 else 2) + 1):
            rows.append({"code": f"W{w}S{s}", "name": f"Trường Tiểu học {name.split(' ', 1)[1]} {s}", "kind": "Trường",
                         "education_level": "Tiểu học", "supervisor_code": f"W{w}", "emails": f"w{w}s{s}@hanoi.edu.vn"})
    return list(enumerate(rows, start=2))


def build_wards(engine) -> int:
    """The 60 wards, their schools, the Sở's campaign (one child per ward) and the Sở's officer «dept»."""
    metadata.create_all(engine)
    with UnitOfWork(engine) as uow:
        import_units(uow, _rows())
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(),
                              spawn_children=True).campaign_id
    with UnitOfWork(engine) as uow:
        create_account(uow, username="dept", full_name="Lê Thu Hà", role="officer", password=PASSWORD, unit_code="SGD")
    return cid


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cdsflow.app.web.app import create_app

    tmp = tmp_path_factory.mktemp("wards")
    engine = make_engine(f"sqlite:///{tmp / 'cds.db'}")
    cid = build_wards(engine)
    w = World(engine, create_app(engine, uploads_dir=tmp / "uploads"), cid, 0, 0, 0)
    w.tmp = tmp
    yield w
    engine.dispose()


def ward_id(world, name: str) -> int:
    with UnitOfWork(world.engine) as uow:
        page = ward_picker.find_wards(uow.session, world.campaign_id, q=name)
    return next(uid for uid, n in page.rows if n == name)


def test_the_picker_finds_a_ward_without_marks_one_page_at_a_time(world):
    dept = world.client("dept")
    found = dept.get(f"/api/campaigns/{world.campaign_id}/wards", params={"q": "ba dinh"}).json()
    assert [w["name"] for w in found["wards"]] == ["Phường Ba Đình"] and found["matched"] == 1
    assert found["all"] == WARDS + 1  # the wards and the Sở, as the old <select> offered
    first = dept.get(f"/api/campaigns/{world.campaign_id}/wards").json()
    assert len(first["wards"]) == 10 and first["pages"] == 7
    second = dept.get(f"/api/campaigns/{world.campaign_id}/wards", params={"page": 2}).json()
    assert not {w["id"] for w in first["wards"]} & {w["id"] for w in second["wards"]}
    # «đông» and «dong» find the same wards (Đống Đa, Đông Anh), in Vietnamese order.
    for typed in ("dong", "ĐÔNG"):
        names = [w["name"] for w in dept.get(f"/api/campaigns/{world.campaign_id}/wards", params={"q": typed})
                 .json()["wards"]]
        assert names == ["Phường Đống Đa", "Xã Đông Anh"], names
    bad = dept.get(f"/api/campaigns/{world.campaign_id}/wards", params={"page": "hai"})
    assert bad.status_code == 422 and "Số trang" in bad.text
    assert dept.get("/api/campaigns/9999/wards").status_code == 404


def test_the_late_list_filters_by_ward_through_the_picker(world):
    dept, cid = world.client("dept"), world.campaign_id
    page = dept.get(f"/campaigns/{cid}/schools", params={"late": "1"}).text
    assert 'id="bureau-q"' in page and "/static/ward_picker.js" in page
    assert "Phường Ba Đình" not in page.split('id="schools"')[0]  # no option per ward in the form
    assert page.count("<option") < 30
    # Without JavaScript: the picker's own page, searched, then the list filtered by the ward chosen.
    picker = dept.get(f"/campaigns/{cid}/wards", params={"ward_q": "ba dinh", "late": "1"}).text
    link = re.search(r'<a href="([^"]+)">Phường Ba Đình</a>', picker).group(1).replace("&amp;", "&")
    assert "late=1" in link and f"bureau={ward_id(world, 'Phường Ba Đình')}" in link
    chosen = dept.get(link).text
    assert 'value="Phường Ba Đình"' in chosen and "<strong>4</strong> cơ sở" in chosen
    assert "Trường Tiểu học Ba Đình 1" in chosen and "Hoàn Kiếm" not in chosen.split('id="schools"')[1]
    # A ward that is not one of the plan's is named, not shown as an empty list.
    assert dept.get(f"/campaigns/{cid}/schools", params={"bureau": "99999"}).status_code == 404
    pages = dept.get(f"/campaigns/{cid}/wards").text
    assert pages.count("<li><a href") == ward_picker.WARD_PER_PAGE and 'rel="next"' in pages


def test_the_dashboard_shows_a_page_of_wards_with_search_and_next(world):
    dept, cid = world.client("dept"), world.campaign_id
    page = dept.get(f"/campaigns/{cid}").text
    rows = lambda html: re.findall(r'<td data-label="Đơn vị"><a href="/campaigns/\d+">([^<]+)</a>',  # noqa: E731
                                   html.split('id="ward-lines"')[1].split("</table>")[0])
    first = rows(page)
    assert len(first) == ward_picker.WARD_PER_PAGE and f"<strong>{WARDS}</strong> đơn vị" in page
    nxt = re.search(r'<a href="([^"]+)" rel="next">', page).group(1).replace("&amp;", "&")
    second = rows(dept.get(nxt).text)
    assert second and not set(first) & set(second)
    found = dept.get(f"/campaigns/{cid}", params={"q": "ba dinh"}).text
    assert rows(found) == ["Phường Ba Đình"] and "khớp «ba dinh»" in found
    none = dept.get(f"/campaigns/{cid}", params={"q": "không có"}).text
    assert "Không có Phòng/xã, phường nào khớp «không có»" in none


def test_the_province_view_shows_a_summary_and_a_page_of_wards(world):
    dept, cid = world.client("dept"), world.campaign_id
    page = dept.get(f"/campaigns/{cid}/province").text
    assert f"Đã nộp 0/{WARDS * 2 + 2}" in page and f"{WARDS} đơn vị" in page
    assert re.search(r'id="most-late">Chậm hạn nhiều nhất: <a href="[^"]+late=1">Phường Ba Đình</a> \(4\)', page)
    lines = re.findall(r'<td data-label="Đơn vị"><a href="[^"]+">([^<]+)</a>', page)
    assert len(lines) == ward_picker.WARD_PER_PAGE and "Trang 1/3" in page
    last = dept.get(f"/campaigns/{cid}/province", params={"page": 3}).text
    assert len(re.findall(r'<td data-label="Đơn vị">', last)) == WARDS - 2 * ward_picker.WARD_PER_PAGE
    found = dept.get(f"/campaigns/{cid}/province", params={"q": "hoan kiem"}).text
    assert re.findall(r'<td data-label="Đơn vị"><a href="[^"]+">([^<]+)</a>', found) == ["Phường Hoàn Kiếm"]
    # The API keeps every unit unless a page is asked for.
    assert len(dept.get(f"/api/campaigns/{cid}/province").json()["units"]) == WARDS
    paged = dept.get(f"/api/campaigns/{cid}/province", params={"q": "xa so", "per_page": 10}).json()
    assert (len(paged["units"]), paged["matched"], paged["pages"]) == (10, 55, 6)


def _status(world, monkeypatch, *args: str):
    monkeypatch.setenv("DATABASE_URL", str(world.engine.url))
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    cli_core.register(app)
    return CliRunner().invoke(app, ["campaign", "status", str(world.campaign_id), "--at", "2025-04-01T08:00:00", *args])


def test_campaign_status_summarises_and_pages_the_wards(world, monkeypatch):
    r = _status(world, monkeypatch)
    assert r.exit_code == 0, r.output
    out = r.output.splitlines()
    assert len(out) <= 200
    assert f"Phòng/xã, phường: {WARDS} đơn vị · có cơ sở chậm hạn: {WARDS}" in r.output
    worst = r.output.split("Chậm hạn nhiều nhất")[1].split("Theo Phòng/xã, phường")[0]
    assert worst.index("Phường Ba Đình") < worst.index("Phường Cầu Giấy")  # 4 late schools before 2
    assert "Theo Phòng/xã, phường (trang 1/2)" in r.output
    assert out[-1].startswith("Phòng/xã, phường: trang 1/2 · xem trang sau: cdsflow campaign status")
    assert "--page 2" in out[-1]
    first = {w for w in NAMES if f"│ {w} " in r.output.split("Theo Phòng/xã, phường (trang")[1].split("Chậm hạn (")[0]}
    r2 = _status(world, monkeypatch, "--page", "2")
    assert r2.exit_code == 0 and "Theo Phòng/xã, phường (trang 2/2)" in r2.output
    second = {w for w in NAMES if f"│ {w} " in r2.output.split("Theo Phòng/xã, phường (trang")[1].split("Chậm hạn (")[0]}
    assert first | second == set(NAMES) and not first & second
    assert len(first) == ward_picker.CLI_PER_PAGE


def test_campaign_status_finds_a_ward_and_names_a_search_that_finds_none(world, monkeypatch):
    r = _status(world, monkeypatch, "--ward", "ba dinh")
    assert r.exit_code == 0, r.output
    assert f"Tìm «ba dinh»: 1/{WARDS} đơn vị khớp" in r.output
    table = r.output.split("Theo Phòng/xã, phường (trang")[1].split("Chậm hạn (")[0]
    assert "Phường Ba Đình" in table and "Hoàn Kiếm" not in table
    missing = _status(world, monkeypatch, "--ward", "không có")
    assert isinstance(missing.exception, NotFound)
    assert "Không có Phòng/xã, phường nào khớp «không có»" in str(missing.exception)
    # A ward's own plan has no wards to page: the options are refused, not ignored.
    monkeypatch.setenv("DATABASE_URL", str(world.engine.url))
    app = typer.Typer()
    cli_core.register(app)
    own = CliRunner().invoke(app, ["campaign", "status", str(world.campaign_id + 1), "--page", "2"])
    assert isinstance(own.exception, InvalidInput) and "không dùng --page hay --ward" in str(own.exception)
    plain = CliRunner().invoke(app, ["campaign", "status", str(world.campaign_id + 1)])
    assert plain.exit_code == 0 and "Theo Phòng/xã, phường" not in plain.output


def test_the_real_command_stays_short(world):
    done = Cli(world.tmp, str(world.engine.url))("campaign", "status", str(world.campaign_id), "--at",
                                                 "2025-04-01T08:00:00")
    lines = done.stdout.splitlines()
    assert len(lines) <= 200 and "--page 2" in lines[-1]
    missing = Cli(world.tmp, str(world.engine.url))("campaign", "status", str(world.campaign_id), "--ward", "zzz",
                                                    ok=False)
    assert missing.returncode != 0 and "Không có Phòng/xã, phường nào khớp «zzz»" in missing.stderr + missing.stdout


@pytest.mark.postgres
def test_the_picker_searches_and_sorts_the_same_on_postgresql():
    from tests.conftest import fresh_postgres_database

    engine = make_engine(fresh_postgres_database("wards"))
    try:
        cid = build_wards(engine)
        with UnitOfWork(engine) as uow:
            found = ward_picker.find_wards(uow.session, cid, q="ba dinh")
            dong = ward_picker.find_wards(uow.session, cid, q="ĐÔNG")
            pages = [ward_picker.find_wards(uow.session, cid, page=n, per_page=25) for n in (1, 2, 3)]
        assert [n for _, n in found.rows] == ["Phường Ba Đình"]
        assert [n for _, n in dong.rows] == ["Phường Đống Đa", "Xã Đông Anh"]
        names = [n for p in pages for _, n in p.rows]
        assert len(names) == len(set(names)) == WARDS + 1 and names[:2] == ["Phường Ba Đình", "Phường Cầu Giấy"]
    finally:
        engine.dispose()


def test_a_list_filter_names_its_unit_or_refuses_it(world, sqlite_engine):
    dept, child = world.client("dept"), world.campaign_id + 1  # Phường Ba Đình's own plan
    assert dept.get(f"/campaigns/{child}/schools", params={"bureau": ward_id(world, "Phường Ba Đình")}).status_code == 200
    other = dept.get(f"/campaigns/{child}/schools", params={"bureau": ward_id(world, "Phường Hoàn Kiếm")})
    assert other.status_code == 404 and "không phải Phòng/xã, phường nào của kế hoạch" in other.text
    # A Sở plan without children: its schools' Phòng are what the province view links to.
    from tests.factories import load_units

    load_units(sqlite_engine)
    with UnitOfWork(sqlite_engine) as uow:
        cid = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar()).campaign_id
        p1 = uow.session.execute(text("SELECT id FROM unit WHERE code = 'P1'")).scalar_one()
        assert ward_picker.ward_name(uow.session, cid, p1) == "Phòng Giáo dục và Đào tạo số 1"
        with pytest.raises(NotFound):
            ward_picker.ward_name(uow.session, cid, 99999)
