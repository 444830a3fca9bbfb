"""A rule asked without the facts it reads never lets the action through: it refuses in production
and raises `MissingFacts` under tests (CDSFLOW_STRICT_RULES=1, set by tests/conftest.py)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdsflow.kernel.errors import TransitionRefused
from cdsflow.kernel.stages import CampaignStatus as C
from cdsflow.kernel.stages import Stage as S
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import FACTS, ActorRef, MemberView, MissingFacts, TransitionContext, needs
from cdsflow.workflow.machine import fire_campaign

NOW = datetime(2025, 3, 1, tzinfo=UTC)
BUREAU, DEPT, SCHOOL = 2, 1, 10


def campaign_facts(**kw) -> TransitionContext:
    ctx = TransitionContext(actor=ActorRef("Anh Tuấn", BUREAU), now=NOW)
    return ctx.supply(issuer_chain=(BUREAU, DEPT), campaign_status=C.REVIEWING, **kw)


@pytest.fixture
def production(monkeypatch):
    monkeypatch.delenv("CDSFLOW_STRICT_RULES", raising=False)


def test_stage_counts_not_gathered_refuse_in_production(production):
    # Before: the counts defaulted to none in review, so the campaign moved on with schools in review.
    problems = rulebook.refusals("campaign_recognise", campaign_facts())
    assert problems == [rulebook.MISSING_TEXT.format("stage_counts")]
    with pytest.raises(TransitionRefused) as err:
        rulebook.enforce("campaign_recognise", campaign_facts())
    assert "thiếu dữ kiện" in " ".join(err.value.details)
    # Gathered, the same rule passes or refuses on the facts themselves.
    assert rulebook.refusals("campaign_recognise", campaign_facts(stage_counts={S.PUBLISHED: 3})) == []
    assert "còn 1 cơ sở" in rulebook.refusals("campaign_recognise",
                                              campaign_facts(stage_counts={S.EXTERNAL_REVIEW: 1}))[0]


def test_missing_facts_raise_a_programming_error_under_tests():
    with pytest.raises(MissingFacts, match="stage_counts"):
        rulebook.refusals("campaign_recognise", campaign_facts())


def test_a_stage_rule_asked_without_the_stage_refuses(production):
    ctx = TransitionContext(actor=ActorRef("Cô Hoa", SCHOOL), now=NOW)
    ctx.supply(school_id=SCHOOL, supervisors=(BUREAU, DEPT), campaign_status=C.LAUNCHED,
               committee=(MemberView("A", "chair"), MemberView("B", "secretary")))
    problems = rulebook.refusals("form_committee", ctx)
    assert problems == [rulebook.MISSING_TEXT.format("stage")]
    ctx.supply(stage=S.PLAN_ISSUED)
    assert rulebook.refusals("form_committee", ctx) == []


def test_a_requirement_is_not_read_on_defaults(production):
    """The committee not gathered: the committee check is not run on an empty default, the rule refuses."""
    ctx = TransitionContext(actor=ActorRef("Cô Hoa", SCHOOL), now=NOW)
    ctx.supply(school_id=SCHOOL, stage=S.PLAN_ISSUED, campaign_status=C.LAUNCHED)
    assert rulebook.refusals("form_committee", ctx) == [rulebook.MISSING_TEXT.format("committee")]


def test_a_campaign_step_fired_without_facts_refuses(production):
    with pytest.raises(TransitionRefused) as err:
        fire_campaign("reviewing", "recognise")
    assert "thiếu dữ kiện" in " ".join(err.value.details)
    assert fire_campaign("draft", "launch") == C.LAUNCHED  # the launch asks nothing of schools


def test_a_campaign_step_fired_without_facts_raises_under_tests():
    with pytest.raises(MissingFacts):
        fire_campaign("reviewing", "recognise")


def test_every_requirement_declares_what_it_reads():
    for r in rulebook.RULES.values():
        for check in r.requires:
            assert check.needs and check.needs <= FACTS, (r.action, check.__name__)
    with pytest.raises(AttributeError):
        needs("no_such_fact")
    with pytest.raises(AttributeError):
        TransitionContext(actor=ActorRef("x"), now=NOW).supply(no_such_fact=1)
