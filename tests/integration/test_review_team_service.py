"""The review team service on SQLite and PostgreSQL: forming, visits, refusals that store nothing."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from cdsflow.kernel.errors import Forbidden, InvalidInput
from cdsflow.services import review_teams as svc
from cdsflow.services.assessments import find_assessment
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.review_tables import ReviewTeam, ReviewTeamMember, ReviewVisit
from cdsflow.storage.tables import Assessment
from cdsflow.workflow.context import ActorRef
from tests.factories import calendar, load_units

pytestmark = pytest.mark.usefixtures("before_the_review")  # the 2025 team is formed before its period ends

TEAM = [
    svc.TeamMemberInput("Lê Thị Mai", "Trưởng đoàn", "Phó Trưởng phòng", "Phòng GDĐT số 1"),
    svc.TeamMemberInput("Trần Văn Bình", "thư ký", "Chuyên viên", "Phòng GDĐT số 1"),
    svc.TeamMemberInput("Phạm Thu Hà", "member", "Hiệu trưởng", "Trường Tiểu học Số 2.1"),
]


@pytest.fixture
def world(engine):
    load_units(engine)
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="P1", school_year="2024-2025", calendar=calendar()).campaign_id
        units = {code: get_unit(uow, code).id for code in ("SGD", "P1", "P2")}
        # Two schools have proposed; the others are still at work.
        for code in ("P1S1", "P1S2"):
            uow.session.execute(update(Assessment).where(Assessment.id == find_assessment(uow, code).id)
                                .values(state="proposal", locked=True))
        uow.commit()
    return engine, cid, units


def officer(units, code="P1"):
    return ActorRef("Trần Minh Tuấn", units[code])


def stored(engine) -> tuple[int, int, int]:
    with UnitOfWork(engine) as uow:
        return tuple(uow.session.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (ReviewTeam, ReviewTeamMember, ReviewVisit))


def test_officer_forms_the_team_with_the_calendar_period(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        view = svc.set_team(uow, cid, TEAM, officer(units))
    assert view.exists and view.name == "Đoàn đánh giá ngoài mức độ chuyển đổi số năm học 2024-2025"
    # The calendar's review window: the day after the proposals' deadline to the review's.
    assert (view.period_start, view.period_end) == (date(2025, 4, 1), date(2025, 5, 20))
    assert [(m.full_name, m.role_label) for m in view.members] == [
        ("Lê Thị Mai", "Trưởng đoàn"), ("Trần Văn Bình", "Thư ký"), ("Phạm Thu Hà", "Thành viên")]
    assert [s.school_code for s in view.schools] == ["P1S1", "P1S2"]  # only schools that proposed
    assert view.visits == []


def test_replacing_the_team_keeps_visits_and_the_department_may_do_it(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
        svc.schedule_visits(uow, cid, [svc.VisitInput("P1S2", date(2025, 4, 10), "chiều"),
                                       svc.VisitInput("P1S1", date(2025, 4, 10), "Sáng")], officer(units))
        view = svc.set_team(uow, cid, TEAM[:2], officer(units, "SGD"), name="Đoàn kiểm tra Phòng số 1",
                            period_start=date(2025, 4, 5), period_end=date(2025, 4, 30))
    assert view.name == "Đoàn kiểm tra Phòng số 1" and len(view.members) == 2
    assert [(v.school_code, v.session) for v in view.visits] == [("P1S1", "sáng"), ("P1S2", "chiều")]
    assert stored(engine) == (1, 2, 2)


@pytest.mark.parametrize("members, expected", [
    ([], "Đoàn chưa có thành viên nào"),
    (TEAM[1:], "Đoàn cần đúng một Trưởng đoàn (đang có 0)"),
    ([TEAM[0], TEAM[0], TEAM[1]], "Đoàn cần đúng một Trưởng đoàn (đang có 2)"),
    ([TEAM[0], TEAM[2]], "Đoàn cần ít nhất một Thư ký"),
    ([*TEAM, svc.TeamMemberInput("Ngô Văn Tư", "khách mời")], "Thành viên 4 (Ngô Văn Tư): nhiệm vụ trong đoàn không rõ"),
    ([*TEAM, svc.TeamMemberInput("Ngô\x07Văn", "member")], "Thành viên 4"),
    ([*TEAM, svc.TeamMemberInput("Ngô Văn Tư", "member", username="khong-co")],
     "Thành viên 4 (Ngô Văn Tư): không có tài khoản «khong-co»"),
])
def test_bad_team_is_refused_whole(world, members, expected):
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
    before = stored(engine)
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        svc.set_team(uow, cid, members, officer(units), name="Tên mới")
    assert any(d.startswith(expected) for d in err.value.details), err.value.details
    assert stored(engine) == before
    with UnitOfWork(engine) as uow:
        assert svc.show_team(uow, cid).name == "Đoàn đánh giá ngoài mức độ chuyển đổi số năm học 2024-2025"


def test_names_are_cleaned(world):
    engine, cid, units = world
    decomposed = "Le\u0302 Thi\u0323 Mai"  # NFD, as some keyboards send it
    with UnitOfWork(engine) as uow:
        view = svc.set_team(uow, cid, [svc.TeamMemberInput(f"  {decomposed} ", "head"), TEAM[1]], officer(units))
    assert view.members[0].full_name == "Lê Thị Mai"


def test_only_the_issuer_or_its_supervisors_form_the_team(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow, pytest.raises(Forbidden) as err:
        svc.set_team(uow, cid, TEAM, officer(units, "P2"))
    assert "đơn vị phát động kế hoạch" in str(err.value)
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
    with UnitOfWork(engine) as uow, pytest.raises(Forbidden):
        svc.schedule_visits(uow, cid, [svc.VisitInput("P1S1", date(2025, 4, 10))], officer(units, "P2"))
    assert stored(engine) == (1, 3, 0)


def test_visits_only_for_proposed_schools_inside_the_period(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        svc.schedule_visits(uow, cid, [svc.VisitInput("P1S1", date(2025, 4, 10))], officer(units))
    assert "chưa có Đoàn đánh giá ngoài" in str(err.value)
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
    bad = [svc.VisitInput("P1S1", date(2025, 4, 10), "sáng"),  # fine, but the others are not
           svc.VisitInput("P1S3", date(2025, 4, 11), "sáng"),
           svc.VisitInput("P1S2", date(2025, 6, 1), "sáng"),
           svc.VisitInput("P2S1", date(2025, 4, 12), "sáng"),
           svc.VisitInput("P1S2", date(2025, 4, 12), "tối")]
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        svc.schedule_visits(uow, cid, bad, officer(units))
    details = err.value.details
    assert any(d.startswith("Trường Tiểu học Số 1.3 chưa gửi tờ trình") for d in details)
    assert any("01/06/2025 nằm ngoài thời gian làm việc của đoàn (01/04/2025 – 20/05/2025)" in d for d in details)
    assert f"Không có cơ sở «P2S1» trong kế hoạch số {cid}" in details
    assert any("buổi không rõ «tối»" in d for d in details)
    assert stored(engine)[2] == 0


def test_a_visit_is_moved_or_removed(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
        aid = find_assessment(uow, "P1S1").id
        svc.schedule_visits(uow, cid, [svc.VisitInput(aid, date(2025, 4, 10), "sáng")], officer(units))
        view = svc.schedule_visits(uow, cid, [svc.VisitInput("P1S1", date(2025, 4, 15), "chiều")], officer(units))
        assert [(v.visit_date, v.session) for v in view.visits] == [(date(2025, 4, 15), "chiều")]
        view = svc.schedule_visits(uow, cid, [svc.VisitInput("P1S1", None)], officer(units))
    assert view.visits == [] and stored(engine)[2] == 0


def test_a_new_period_may_not_strand_a_visit(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
        svc.schedule_visits(uow, cid, [svc.VisitInput("P1S1", date(2025, 4, 10), "sáng")], officer(units))
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        svc.set_team(uow, cid, TEAM, officer(units), period_start=date(2025, 5, 1), period_end=date(2025, 5, 20))
    assert err.value.details == ["Lịch làm việc tại Trường Tiểu học Số 1.1 ngày 10/04/2025 nằm ngoài thời gian mới của đoàn"]
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        svc.set_team(uow, cid, TEAM, officer(units), period_start=date(2025, 5, 1), period_end=date(2025, 4, 1))
    assert "Thời gian làm việc không hợp lệ" in err.value.details[0]


def test_a_team_whose_period_is_over_is_refused_with_its_last_day(world):
    engine, cid, units = world
    june = datetime(2025, 6, 2, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        svc.set_team(uow, cid, TEAM, officer(units), now=june)  # the calendar's window ended on 20/5
    assert err.value.details == [
        "Thời gian làm việc của đoàn (01/04/2025 – 20/05/2025) đã kết thúc ngày 20/05/2025, trước hôm nay "
        "(02/06/2025): không thành lập đoàn cho thời gian đã qua; chọn ngày kết thúc từ hôm nay trở đi"]
    assert stored(engine) == (0, 0, 0)
    with UnitOfWork(engine) as uow:  # formed in time, its members may still be corrected afterwards
        svc.set_team(uow, cid, TEAM, officer(units), now=datetime(2025, 3, 20, 9, tzinfo=june.tzinfo))
        view = svc.set_team(uow, cid, TEAM[:2], officer(units), now=june)
    assert [m.full_name for m in view.members] == ["Lê Thị Mai", "Trần Văn Bình"]
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:  # but not moved into the past
        svc.set_team(uow, cid, TEAM, officer(units), period_start=date(2025, 4, 1), period_end=date(2025, 5, 30),
                     now=june)
    assert "đã kết thúc ngày 30/05/2025" in err.value.details[0]


def test_decision_data_lists_every_proposed_school(world):
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        assert svc.decision_data(uow.session, cid) is None
        svc.set_team(uow, cid, TEAM, officer(units))
        svc.schedule_visits(uow, cid, [svc.VisitInput("P1S2", date(2025, 4, 10), "chiều")], officer(units))
        data = svc.decision_data(uow.session, cid)
    assert [m["role"] for m in data["team"]] == ["head", "secretary", "member"]
    assert data["period"] == [date(2025, 4, 1), date(2025, 5, 20)]
    assert data["visits"] == [{"name": "Trường Tiểu học Số 1.1", "visit_date": None, "session": ""},
                              {"name": "Trường Tiểu học Số 1.2", "visit_date": date(2025, 4, 10), "session": "Chiều"}]
