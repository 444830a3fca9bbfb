"""The rulebook's pure mechanics: relations from gathered facts, the natural role at the command line,
refusals in Vietnamese. Every line of the table is pinned through the use-cases that ask it, on a
real database: tests/integration/test_rule_table_use_cases.py (and scripts/rulebook_mutants.py)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from cdsflow.kernel.stages import CampaignStatus as C
from cdsflow.kernel.stages import Stage as S
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import FACTS, ActorRef, MemberView, TransitionContext
from cdsflow.workflow.roles import Role
from cdsflow.workflow.rulebook import Relation, refusals

NOW = datetime(2025, 3, 1, tzinfo=UTC)
SCHOOL, BUREAU, DEPT, STRANGER, TEAM_ACCOUNT = 10, 2, 1, 99, 7
COMMITTEE = (MemberView("Nguyễn Văn An", "chair"), MemberView("Trần Thị Bình", "secretary"))
ACTOR_UNIT = {Relation.SCHOOL: SCHOOL, Relation.SUPERVISOR: BUREAU, Relation.ISSUER: BUREAU,
              Relation.SCOPE: BUREAU, Relation.TEAM: STRANGER, Relation.ANY: None}


def facts(role: Role | None, relation: Relation, stage: S | None, status: C | None, **kw) -> TransitionContext:
    actor = ActorRef("Người thực hiện", ACTOR_UNIT[relation], role, TEAM_ACCOUNT if relation == Relation.TEAM else 3)
    base = dict(actor=actor, now=NOW, school_id=SCHOOL, supervisors=(BUREAU, DEPT), issuer_chain=(BUREAU, DEPT),
                team_accounts=frozenset({TEAM_ACCOUNT}), stage=stage, campaign_status=status, committee=COMMITTEE,
                proposed_by="Cô Hoa (hieutruong)", reason="Thiếu minh chứng 1.3", external_unscored=(),
                recognition_decision="Số 12/QĐ-PGDĐT", stage_counts={S.PUBLISHED: 2}, known=set(FACTS))
    if kw.get("proposed_by") == "{actor}":
        kw["proposed_by"] = actor.name
    return TransitionContext(**(base | kw))


def some(values):
    return sorted(values, key=str)[0] if values else None


def test_reviewers_act_only_as_members_of_the_assigned_team():
    ctx = facts(Role.REVIEWER, Relation.SUPERVISOR, S.EXTERNAL_REVIEW, C.LAUNCHED, team_accounts=frozenset())
    ctx = replace(ctx, actor=ActorRef("Thành viên khác", BUREAU, Role.REVIEWER, 8))
    assert "đoàn đánh giá ngoài" in " ".join(refusals("score_external", ctx))
    assert refusals("score_external", replace(ctx, team_accounts=frozenset({8}))) == []


def test_recognition_without_a_complete_review_needs_a_written_override():
    base = facts(Role.OFFICER, Relation.SUPERVISOR, S.EXTERNAL_REVIEW, C.LAUNCHED)
    assert "chưa nhập điểm mục nào" in refusals("recognise", replace(base, external_unscored=None))[0]
    assert "chưa chấm 2 mục (1.1.1, 2.3.4)" in refusals("recognise", replace(base, external_unscored=("1.1.1", "2.3.4")))[0]
    assert refusals("recognise", replace(base, external_unscored=None, override_reason="Đoàn không đến được")) == []


def test_a_person_at_the_command_line_acts_in_the_units_natural_role():
    school = facts(None, Relation.SCHOOL, S.PLAN_ISSUED, C.LAUNCHED)
    assert refusals("form_committee", school) == []
    assert refusals("score_external", facts(None, Relation.SCHOOL, S.EXTERNAL_REVIEW, C.LAUNCHED))
    assert refusals("score_external", facts(None, Relation.SUPERVISOR, S.EXTERNAL_REVIEW, C.LAUNCHED)) == []
    assert refusals("recognise", facts(None, Relation.SCHOOL, S.EXTERNAL_REVIEW, C.LAUNCHED))
    # Nobody without a unit: a Python caller must say whom it acts for.
    assert refusals("recognise", facts(None, Relation.ANY, S.EXTERNAL_REVIEW, C.LAUNCHED))


def test_refusals_read_in_vietnamese():
    message = " ".join(refusals("recognise", facts(Role.OFFICER, Relation.SCHOOL, S.EXTERNAL_REVIEW, C.CLOSED)))
    assert "đơn vị quản lý cấp trên" in message and "«Đã kết thúc»" in message
    locked = refusals("score_self", facts(Role.SCHOOL_HEAD, Relation.SCHOOL, S.PROPOSAL, C.LAUNCHED))
    assert "đã khóa" in locked[0]
    assert "«Văn thư» không được" in refusals("recognise", facts(Role.CLERK, Relation.SUPERVISOR,
                                                                   S.EXTERNAL_REVIEW, C.LAUNCHED))[0]


def test_a_menu_asks_the_table_for_roles():
    assert rulebook.role_may(Role.OFFICER, "recognise") and not rulebook.role_may(Role.SCHOOL_HEAD, "recognise")
