"""Every line of the rulebook, checked against an oracle written here (not read from the table), so
that removing or loosening any rule turns this file red: a role, a relation, a stage, a campaign
status or a requirement."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cdsflow.kernel.stages import CampaignStatus as C
from cdsflow.kernel.stages import Stage as S
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import ActorRef, MemberView, TransitionContext
from cdsflow.workflow.roles import Role
from cdsflow.workflow.rulebook import RULES, Relation, refusals

NOW = datetime(2025, 3, 1, tzinfo=UTC)
SCHOOL, BUREAU, DEPT, STRANGER, TEAM_ACCOUNT = 10, 2, 1, 99, 7
COMMITTEE = (MemberView("Nguyễn Văn An", "chair"), MemberView("Trần Thị Bình", "secretary"))
OPEN = {S.PLAN_ISSUED, S.COMMITTEE_FORMED, S.SELF_ASSESSMENT}
ACTIVE = {C.LAUNCHED, C.REVIEWING}
ALL_C = set(C)
NOT_DRAFT = ALL_C - {C.DRAFT}
STAFF = {(Role.SCHOOL_HEAD, Relation.SCHOOL), (Role.COMMITTEE, Relation.SCHOOL)}
REVIEW = {(Role.OFFICER, Relation.SUPERVISOR), (Role.REVIEWER, Relation.TEAM)}
OFFICER_ISSUER = {(Role.OFFICER, Relation.ISSUER)}
READERS = {(Role.OFFICER, Relation.SCOPE), (Role.REVIEWER, Relation.SCOPE), (Role.CLERK, Relation.SCOPE),
           (Role.ADMIN, Relation.SCOPE)}

# action: (who, stages or None, campaign statuses or None, requirements by name)
ORACLE: dict[str, tuple[set, set | None, set | None, set[str]]] = {
    "form_committee": ({(Role.SCHOOL_HEAD, Relation.SCHOOL)}, {S.PLAN_ISSUED}, ACTIVE, {"committee"}),
    "start_self_assessment": ({(Role.SCHOOL_HEAD, Relation.SCHOOL)}, {S.COMMITTEE_FORMED}, ACTIVE, {"committee"}),
    "submit_proposal": ({(Role.SCHOOL_HEAD, Relation.SCHOOL)}, {S.SELF_ASSESSMENT}, ACTIVE,
                        {"committee", "gaps", "window"}),
    "start_review": (REVIEW, {S.PROPOSAL}, ACTIVE, {"proposer"}),
    "return_for_supplement": (REVIEW, {S.EXTERNAL_REVIEW}, ACTIVE, {"reason"}),
    "recognise": ({(Role.OFFICER, Relation.SUPERVISOR)}, {S.EXTERNAL_REVIEW}, ACTIVE, {"proposer", "review"}),
    "publish": ({(Role.OFFICER, Relation.SUPERVISOR)}, {S.RECOGNITION}, ACTIVE | {C.RECOGNISED}, {"decision"}),
    "set_committee": ({(Role.SCHOOL_HEAD, Relation.SCHOOL)}, OPEN, ACTIVE, set()),
    "score_self": (STAFF, OPEN, ACTIVE, set()),
    "evidence": (STAFF, OPEN, ACTIVE, set()),
    "assign_criteria": ({(Role.SCHOOL_HEAD, Relation.SCHOOL)}, OPEN, ACTIVE, set()),
    "record_meeting": (STAFF | {(Role.CLERK, Relation.SCHOOL)}, OPEN, ACTIVE, set()),
    "score_external": (REVIEW, {S.EXTERNAL_REVIEW}, ACTIVE, set()),
    "view_assessment": (STAFF | {(Role.OFFICER, Relation.SCOPE), (Role.REVIEWER, Relation.SCOPE),
                                 (Role.CLERK, Relation.SCOPE), (Role.ADMIN, Relation.SCOPE)}, None, None, set()),
    "issue_school_paper": ({(Role.SCHOOL_HEAD, Relation.SCHOOL), (Role.CLERK, Relation.SCHOOL),
                            (Role.OFFICER, Relation.SUPERVISOR), (Role.CLERK, Relation.SUPERVISOR)},
                           None, NOT_DRAFT, set()),
    "issue_authority_paper": ({(Role.OFFICER, Relation.ISSUER), (Role.CLERK, Relation.ISSUER)}, None, NOT_DRAFT,
                              set()),
    "upload_signed_school_paper": ({(Role.SCHOOL_HEAD, Relation.SCHOOL), (Role.CLERK, Relation.SCHOOL)}, None,
                                   NOT_DRAFT, set()),
    "upload_signed_authority_paper": ({(Role.OFFICER, Relation.ISSUER), (Role.CLERK, Relation.ISSUER)}, None,
                                      NOT_DRAFT, set()),
    "launch_campaign": (OFFICER_ISSUER, None, None, set()),
    "campaign_start_review": (OFFICER_ISSUER, None, {C.LAUNCHED}, set()),
    "campaign_recognise": (OFFICER_ISSUER, None, {C.REVIEWING}, {"none_in_review"}),
    "campaign_publish": (OFFICER_ISSUER, None, {C.RECOGNISED}, {"none_awaiting"}),
    "campaign_close": (OFFICER_ISSUER, None, {C.PUBLISHED}, {"none_in_review", "none_awaiting"}),
    "bulk": (OFFICER_ISSUER, None, ACTIVE | {C.RECOGNISED}, set()),
    "remind": (OFFICER_ISSUER, None, ACTIVE | {C.RECOGNISED}, set()),
    "form_team": (OFFICER_ISSUER, None, ACTIVE, set()),
    "view_team": (READERS, None, None, set()),
    "set_steering": ({(Role.SCHOOL_HEAD, Relation.SCHOOL), (Role.OFFICER, Relation.SCOPE)}, None, None, set()),
    "view_campaigns": (READERS, None, None, set()),
    "manage_accounts": ({(Role.ADMIN, Relation.ANY)}, None, None, set()),
    "manage_school_accounts": ({(Role.OFFICER, Relation.SUPERVISOR), (Role.ADMIN, Relation.ANY)}, None, None, set()),
    "mailbox": ({(Role.ADMIN, Relation.ANY)}, None, None, set()),
    "publish_index_set": ({(Role.ADMIN, Relation.ANY)}, None, None, set()),
}

# How to break each requirement, starting from facts that satisfy them all.
BREAK = {
    "committee": dict(committee=()),
    "gaps": dict(proposal_gaps=["Chưa chấm mục 1.1.1"]),
    "window": dict(submission_refusal="Đã hết thời hạn gửi"),
    "proposer": dict(proposed_by="{actor}"),
    "reason": dict(reason="  "),
    "review": dict(external_unscored=None),
    "decision": dict(recognition_decision=None),
    "none_in_review": dict(stage_counts={S.PUBLISHED: 2, S.EXTERNAL_REVIEW: 1}),
    "none_awaiting": dict(stage_counts={S.PUBLISHED: 2, S.RECOGNITION: 1}),
}

ACTOR_UNIT = {Relation.SCHOOL: SCHOOL, Relation.SUPERVISOR: BUREAU, Relation.ISSUER: BUREAU,
              Relation.SCOPE: BUREAU, Relation.TEAM: STRANGER, Relation.ANY: None}


def facts(role: Role | None, relation: Relation, stage: S | None, status: C | None, **kw) -> TransitionContext:
    actor = ActorRef("Người thực hiện", ACTOR_UNIT[relation], role, TEAM_ACCOUNT if relation == Relation.TEAM else 3)
    base = dict(actor=actor, now=NOW, school_id=SCHOOL, supervisors=(BUREAU, DEPT), issuer_chain=(BUREAU, DEPT),
                team_accounts=frozenset({TEAM_ACCOUNT}), stage=stage, campaign_status=status, committee=COMMITTEE,
                proposed_by="Cô Hoa (hieutruong)", reason="Thiếu minh chứng 1.3", external_unscored=(),
                recognition_decision="Số 12/QĐ-PGDĐT", stage_counts={S.PUBLISHED: 2})
    if kw.get("proposed_by") == "{actor}":
        kw["proposed_by"] = actor.name
    return TransitionContext(**(base | kw))


def some(values):
    return sorted(values, key=str)[0] if values else None


def test_the_oracle_covers_every_rule_and_nothing_else():
    assert set(ORACLE) == set(RULES)


@pytest.mark.parametrize("action", sorted(ORACLE))
def test_each_rule_as_written(action):
    who, stages, statuses, requires = ORACLE[action]
    r = RULES[action]
    assert set(r.who) == who
    stage = some(stages)
    status = some(statuses)
    # Allowed for every (role, relation) pair the oracle lists, in every listed stage and status.
    for role, relation in who:
        for st in stages or [None]:
            for cs in statuses or [None]:
                assert refusals(action, facts(role, relation, st, cs)) == [], (role, relation, st, cs)
    role, relation = some(who)
    # A role that is not listed is refused, even with the right relation.
    for other in set(Role) - {ro for ro, _ in who}:
        assert refusals(action, facts(other, relation, stage, status)), other
    # A listed role without its relation is refused (a stranger's unit, no team membership).
    if relation != Relation.ANY:
        stranger = facts(role, relation, stage, status, school_id=555, supervisors=(556,), issuer_chain=(557,),
                         team_accounts=frozenset())
        assert refusals(action, stranger)
    # Every stage and campaign status outside the lists is refused.
    for st in set(S) - (stages or set(S)):
        assert refusals(action, facts(role, relation, st, status)), st
    for cs in set(C) - (statuses or set(C)):
        assert refusals(action, facts(role, relation, stage, cs)), cs
    # Every requirement, broken alone, is refused.
    for name in requires:
        assert refusals(action, facts(role, relation, stage, status, **BREAK[name])), name


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
