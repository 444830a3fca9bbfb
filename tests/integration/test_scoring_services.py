"""Scoring, evidence, assignments and roll-over over a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from cdsflow.assessment.files import shipped_index_sets
from cdsflow.kernel.errors import InvalidInput, NotFound, TransitionRefused
from cdsflow.services import scoring as svc
from cdsflow.storage.assessment_tables import AssessmentAnswer, AssessmentScore
from cdsflow.storage.tables import Assessment, Campaign, CommitteeMember, Unit

S = shipped_index_sets()["4725"]
LINK = "https://thcs-a.edu.vn/cds/minh-chung"


def full_answers() -> dict:
    out = {}
    for code, item in S.items.items():
        out[code] = {"yes_no": True, "count": 50, "percentage": 80, "choice": "ky_so", "points": item.max_points}[item.kind.value]
    return out


def make_assessment(session: Session, *, school: Unit | None = None, year: str = "2024-2025",
                    index_hash: str = S.content_hash) -> Assessment:
    if school is None:
        school = Unit(code=f"thcs-a-{year}", name="Trường THCS A & B", short_code="THCSA", kind="school")
        session.add(school)
        session.flush()
    bureau = Unit(code=f"phong-{year}-{school.code}", name="Phòng GDĐT", short_code="PGDĐT", kind="bureau")
    session.add(bureau)
    session.flush()
    if school.supervisor_id is None:  # the issuer supervises the school: the rulebook's review relation
        school.supervisor_id = bureau.id
        session.add(school)
    camp = Campaign(issuer_id=bureau.id, school_year=year, title="Kế hoạch CĐS", index_set_code="4725",
                    index_set_version=S.version, index_set_hash=index_hash, status="launched")
    session.add(camp)
    session.flush()
    a = Assessment(campaign_id=camp.id, school_id=school.id, state="self_assessment")
    session.add(a)
    session.flush()
    return a


def add_member(session: Session, a: Assessment, name: str, role: str = "member", order: int = 0) -> CommitteeMember:
    m = CommitteeMember(assessment_id=a.id, full_name=name, role=role, position_order=order)
    session.add(m)
    session.flush()
    return m


def test_save_and_score_answers_keeps_who_and_when(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        r = svc.save_answers(session, a.id, "self", {"1.4": 25, "2.5": "pdf"}, "Nguyễn Văn A")
        assert r.items["1.4"].points == 6 and len(r.unscored) == 28
        r = svc.save_answers(session, a.id, "self", {"1.4": 45, "1.3.1": "có"}, "Trần Thị B")
        session.commit()
    with Session(engine, expire_on_commit=False) as session:
        rows = {x.item_code: x for x in session.exec(select(AssessmentAnswer)).all()}
        assert rows["1.4"].value == 45 and rows["1.4"].answered_by == "Trần Thị B"
        assert rows["2.5"].answered_by == "Nguyễn Văn A" and rows["2.5"].answered_at.tzinfo is not None
        sc = session.exec(select(AssessmentScore)).one()
        assert (sc.group1_total, sc.group2_total, sc.index_set_hash) == (16.0, 3.0, S.content_hash)
        assert sc.item_points["1.4"] == 10 and sc.item_points["1.5.1"] is None
        assert svc.score_assessment(session, a.id).criteria["1.4"] == 10


def test_bad_answer_stores_nothing(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        svc.save_answers(session, a.id, "self", {"1.4": 25}, "A")
        session.commit()
        with pytest.raises(InvalidInput) as err:
            svc.save_answers(session, a.id, "self", {"1.4": 30, "1.6.2": 130}, "A")
        assert "1.6.2" in str(err.value)
        session.rollback()
        assert svc.load_answers(session, a.id) == {"1.4": 25}


def test_none_clears_an_answer(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        svc.save_answers(session, a.id, "self", {"1.4": 25, "2.5": "pdf"}, "A")
        r = svc.save_answers(session, a.id, "self", {"2.5": None}, "A")
        assert "2.5" in r.unscored and svc.load_answers(session, a.id) == {"1.4": 25}


def test_locked_assessment_refuses_self_writes_but_takes_the_review(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        m = add_member(session, a, "Lê C")
        svc.save_answers(session, a.id, "self", {"1.4": 25}, "A")
        a.state, a.locked = "external_review", True
        session.add(a)
        session.commit()
        for call in (
            lambda: svc.save_answers(session, a.id, "self", {"1.4": 30}, "A"),
            lambda: svc.add_evidence(session, a.id, "1.4", "Danh mục", link=LINK),
            lambda: svc.set_assignment(session, a.id, "1.4", m.id, "chu_tri"),
        ):
            with pytest.raises(TransitionRefused, match="đã khóa"):
                call()
        r = svc.save_answers(session, a.id, "external", {"1.4": 19}, "Đoàn đánh giá")
        assert r.items["1.4"].points == 3
        session.commit()
        assert svc.load_answers(session, a.id) == {"1.4": 25}


def test_self_and_external_side_by_side(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        svc.save_answers(session, a.id, "self", {"1.4": 45, "2.5": "ky_so"}, "Trường")
        with pytest.raises(TransitionRefused, match="Đang đánh giá ngoài"):  # only during the review
            svc.save_answers(session, a.id, "external", {"1.4": 30}, "Đoàn")
        a.state = "external_review"
        session.add(a)
        svc.save_answers(session, a.id, "external", {"1.4": 30, "2.5": "ky_so"}, "Đoàn")
        _, cmp = svc.compare_assessment(session, a.id)
        by = {d.code: d for d in cmp.items}
        assert by["1.4"].difference == -4 and by["2.5"].difference == 0
        assert len(session.exec(select(AssessmentScore)).all()) == 2


def test_proposal_gaps_name_unscored_items_and_missing_evidence(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        gaps = svc.proposal_gaps(session, a.id)
        assert len([g for g in gaps if "chưa được chấm điểm" in g]) == 30
        answers = full_answers()
        answers["2.5"] = "khong"  # scored 0: nothing to prove for 2.5
        svc.save_answers(session, a.id, "self", answers, "A")
        gaps = svc.proposal_gaps(session, a.id)
        assert not any("chấm điểm" in g for g in gaps)
        missing = sorted(g.split()[2] for g in gaps)
        assert missing == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"]
        assert any("Tiêu chí 1.4 chưa có minh chứng (cần: Đường link" in g for g in gaps)
        for code in missing:
            # evidence on a sub-item counts for its criterion
            target = S.criteria[code].items[0].code
            svc.add_evidence(session, a.id, target, f"Minh chứng {code}", link=LINK)
        assert svc.proposal_gaps(session, a.id) == []


def test_failed_mandatory_condition_needs_no_evidence(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        svc.save_answers(session, a.id, "self", {**full_answers(), "1.1": False}, "A")
        gaps = svc.proposal_gaps(session, a.id)
        assert not any(g.startswith("Tiêu chí 1.1 ") for g in gaps)
        assert any(g.startswith("Tiêu chí 1.2 ") for g in gaps)


def test_evidence_validation(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        other = make_assessment(session, year="2025-2026")
        stranger = add_member(session, other, "Người ngoài")
        with pytest.raises(InvalidInput, match="9.9"):
            svc.add_evidence(session, a.id, "9.9", "x", link=LINK)
        with pytest.raises(InvalidInput, match="đường link hoặc một tệp"):
            svc.add_evidence(session, a.id, "1.4", "Danh mục học liệu")
        with pytest.raises(InvalidInput, match="http"):
            svc.add_evidence(session, a.id, "1.4", "Danh mục", link="ftp://x")
        with pytest.raises(InvalidInput, match="không thuộc hội đồng"):
            svc.add_evidence(session, a.id, "1.4", "Danh mục", link=LINK, responsible_member_id=stranger.id)
        with pytest.raises(InvalidInput, match="Thiếu tên minh chứng"):
            svc.add_evidence(session, a.id, "1.4", "  ", link=LINK)
        m = add_member(session, a, "Phạm D")
        e = svc.add_evidence(session, a.id, "1.4", "Danh mục học liệu số", document_number="12/KH-THCS",
                             document_date=date(2024, 9, 5), file_path="minh-chung/1.4.pdf", responsible_member_id=m.id,
                             actor="Phạm D")
        session.commit()
        assert [x.id for x in svc.list_evidence(session, a.id, "1.4")] == [e.id]
        assert svc.list_evidence(session, a.id)[0].document_date == date(2024, 9, 5)
        svc.remove_evidence(session, e.id)
        assert svc.list_evidence(session, a.id) == []


def test_assignments_and_member_progress(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        lan = add_member(session, a, "Nguyễn Thị Lan", "chair", 1)
        hung = add_member(session, a, "Trần Văn Hùng", "member", 2)
        svc.set_assignment(session, a.id, "1.3", lan.id, "chu_tri")
        svc.set_assignment(session, a.id, "1.3", hung.id, "thuc_hien")
        svc.set_assignment(session, a.id, "1.4", hung.id, "chu_tri")
        with pytest.raises(InvalidInput, match="phân công theo tiêu chí"):
            svc.set_assignment(session, a.id, "1.3.1", hung.id, "chu_tri")
        with pytest.raises(InvalidInput, match="Vai trò"):
            svc.set_assignment(session, a.id, "1.4", hung.id, "boss")
        svc.save_answers(session, a.id, "self", {"1.4": 12}, "Trần Văn Hùng")
        svc.add_evidence(session, a.id, "1.4", "Danh mục", link=LINK)
        svc.set_assignment(session, a.id, "1.4", hung.id, "chu_tri", status="hoan_thanh")
        session.commit()
        assert len(svc.list_assignments(session, a.id)) == 3
        prog = {p.full_name: p for p in svc.member_progress(session, a.id)}
        assert prog["Trần Văn Hùng"].criteria == ("1.3", "1.4") and prog["Trần Văn Hùng"].lead == ("1.4",)
        assert (prog["Trần Văn Hùng"].scored, prog["Trần Văn Hùng"].with_evidence, prog["Trần Văn Hùng"].done) == (1, 1, 1)
        assert prog["Trần Văn Hùng"].percent == 50
        assert prog["Nguyễn Thị Lan"].percent == 0


def test_roll_over_copies_committee_assignments_and_valid_evidence(engine):
    with Session(engine, expire_on_commit=False) as session:
        old = make_assessment(session, year="2023-2024")
        school = session.get(Unit, old.school_id)
        new = make_assessment(session, school=school, year="2024-2025")
        lan = add_member(session, old, "Nguyễn Thị Lan", "chair", 1)
        hung = add_member(session, old, "Trần Văn Hùng", "secretary", 2)
        add_member(session, new, "Nguyễn Thị  Lan", "chair", 1)  # already in the new committee
        svc.set_assignment(session, old.id, "1.3", lan.id, "chu_tri", status="hoan_thanh")
        svc.set_assignment(session, old.id, "1.4", hung.id, "thuc_hien")
        svc.add_evidence(session, old.id, "1.2", "Quy chế dạy học trực tuyến", link=LINK, responsible_member_id=hung.id)
        svc.add_evidence(session, old.id, "1.1", "Kế hoạch dạy học trực tuyến 2023-2024", link=LINK,
                         valid_until=date(2024, 5, 31))
        session.commit()
        report = svc.roll_over(session, old.id, new.id, on=date(2024, 9, 1), actor="Hiệu trưởng")
        session.commit()
        assert (report.members, report.assignments, report.evidence) == (1, 2, 1)
        assert any("hết hiệu lực" in s for s in report.skipped)
        members = session.exec(select(CommitteeMember).where(CommitteeMember.assessment_id == new.id)).all()
        assert sorted(m.full_name for m in members) == ["Nguyễn Thị  Lan", "Trần Văn Hùng"]
        new_hung = next(m for m in members if m.full_name == "Trần Văn Hùng")
        ev = svc.list_evidence(session, new.id)
        assert [e.title for e in ev] == ["Quy chế dạy học trực tuyến"] and ev[0].responsible_member_id == new_hung.id
        rows = svc.list_assignments(session, new.id)
        assert all(r.status == "chua_bat_dau" for r in rows)
        # twice: nothing duplicated
        again = svc.roll_over(session, old.id, new.id, on=date(2024, 9, 1))
        assert (again.members, again.assignments) == (0, 0)


def test_roll_over_refuses_another_school(engine):
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session, year="2023-2024")
        b = make_assessment(session, year="2024-2025")
        with pytest.raises(InvalidInput, match="không cùng một cơ sở"):
            svc.roll_over(session, a.id, b.id)


def test_unknown_assessment_and_phase(engine):
    with Session(engine, expire_on_commit=False) as session:
        with pytest.raises(NotFound):
            svc.save_answers(session, 999, "self", {}, "A")
        a = make_assessment(session)
        with pytest.raises(InvalidInput, match="Giai đoạn"):
            svc.save_answers(session, a.id, "draft", {}, "A")


def test_bulk_scoring_replaces_and_refuses_whole_batch(engine):
    with Session(engine, expire_on_commit=False) as session:
        ids = []
        school = None
        for n in range(3):
            a = make_assessment(session, year=f"20{20 + n}-20{21 + n}", school=school)
            school = session.get(Unit, a.school_id)
            ids.append(a.id)
        session.commit()
        rep = svc.score_many(session, S, [(i, full_answers()) for i in ids])
        session.commit()
        assert rep.assessments == 3 and rep.answers == 90
        assert {s.group1_level for s in session.exec(select(AssessmentScore)).all()} == {3}
        with pytest.raises(InvalidInput, match=f"Hồ sơ đánh giá số {ids[1]}"):
            svc.score_many(session, S, [(ids[0], {"1.4": 1}), (ids[1], {"1.4": -1})])
        session.rollback()
        svc.score_many(session, S, [(ids[0], {"1.4": 1})])
        session.commit()
        assert svc.load_answers(session, ids[0]) == {"1.4": 1}
        assert len(session.exec(select(AssessmentAnswer)).all()) == 61


@pytest.mark.postgres
def test_concurrent_saves_never_leave_a_stale_score(postgres_engine):
    """Two committee members save different items at once: both answers and a score counting both."""
    import threading

    engine = postgres_engine
    with Session(engine, expire_on_commit=False) as session:
        a = make_assessment(session)
        session.commit()
    first = Session(engine)
    # The first member's save is under way: it holds the assessment's row lock (taken first, as
    # save_answers does) when the second member's save starts.
    from sqlalchemy import update

    first.execute(update(Assessment).where(Assessment.id == a.id).values(version=Assessment.version))
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as s2:
                svc.save_answers(s2, a.id, "self", {"2.5": "pdf"}, "Thành viên 2")
                s2.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=second)
    t.start()
    # Wait (bounded) until the second writer is blocked on a lock, so the interleaving is the
    # one under test whatever the machine's speed.
    from sqlalchemy import text

    with engine.connect() as watch:
        for _ in range(1000):
            if watch.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                break
            threading.Event().wait(0.01)
        else:  # pragma: no cover
            raise AssertionError("the second writer never waited for the first")
    svc.save_answers(first, a.id, "self", {"1.4": 25}, "Thành viên 1")  # commits, releasing the lock
    first.close()
    t.join(timeout=30)
    assert not errors
    with Session(engine) as session:
        assert svc.load_answers(session, a.id) == {"1.4": 25, "2.5": "pdf"}
        row = session.exec(select(AssessmentScore)).one()
        assert row.item_points["1.4"] == 6 and row.item_points["2.5"] == 3
