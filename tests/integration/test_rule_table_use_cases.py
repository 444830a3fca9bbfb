"""Every line of the rule table, observed through the service layer a door calls, on a real database:
the steps a page offers (`allowed_steps`) and what refuses them (`step_refusals`), the campaign's steps
(`advance_campaign`), scoring (`save_answers`), the committee (`set_committee`), the steering group
(`set_steering`), reads (`readable_*`) and the checks each use-case asks first (`check_*`).

Nothing here reads `rulebook.RULES`: the expectations are written as behaviour, so loosening or
tightening any line (a role, a relation, a stage, a campaign status, a requirement) turns a test red.
`python scripts/rulebook_mutants.py` runs this file against every loosened table.

Each check runs in a transaction that is rolled back (the use-cases' own commits included), so the
world is built once and every check starts from it."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from cdsflow.kernel.errors import CdsError, Forbidden, TransitionRefused
from cdsflow.kernel.stages import CampaignStatus as C
from cdsflow.kernel.stages import Stage as S
from cdsflow.services import authorization, scoring
from cdsflow.services.accounts import create_account
from cdsflow.services.assessments import MemberInput, find_assessment, set_committee, step_refusals
from cdsflow.services.campaigns import advance_campaign, family_ids, launch_campaign
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.review_teams import TeamMemberInput, set_team
from cdsflow.services.steering import STEERING_ROLES, SteeringInput, set_steering
from cdsflow.services.units import get_unit, import_units
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.roles import Role
from tests.factories import calendar, unit_rows

R = Role
STEERING_ROLE = next(iter(STEERING_ROLES))
OPEN = [S.PLAN_ISSUED, S.COMMITTEE_FORMED, S.SELF_ASSESSMENT]
ACTIVE = [C.LAUNCHED, C.REVIEWING]
NOT_DRAFT = [c for c in C if c != C.DRAFT]


@dataclass
class World:
    engine: object
    school: int
    bureau: int
    dept: int
    aid: int
    campaign_id: int
    reviewer_account: int
    code: str  # an item the school or the review may score


_WORLD: list[World] = []  # once per process: scripts/rulebook_mutants.py runs this file per mutant in one process


@pytest.fixture(scope="module")
def world() -> World:
    """Every check rolls back, so the world never changes: built once per process."""
    if not _WORLD:
        home = Path(tempfile.mkdtemp(prefix="cdsflow-rules-"))
        atexit.register(shutil.rmtree, home, True)
        _WORLD.append(build_world(home))
    return _WORLD[0]


def build_world(home: Path) -> World:
    engine = make_engine(f"sqlite:///{home / 'rules.db'}")
    metadata.create_all(engine)
    with UnitOfWork(engine) as uow:
        import_units(uow, unit_rows())
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(), spawn_children=True)
    with UnitOfWork(engine) as uow:
        reviewer = create_account(uow, username="doan", full_name="Phạm Quang Hùng", role="reviewer",
                                  password="mat-khau-thu-nghiem", unit_code="P2")
        a = find_assessment(uow, "P1S1")
        ids = World(engine, a.school_id, get_unit(uow, "P1").id, get_unit(uow, "SGD").id, a.id, a.campaign_id,
                    reviewer.id, "")
        ids.code = next(i.code for i in index_set_for_assessment(uow.session, a.id).items.values()
                        if i.kind.value == "yes_no")
    with UnitOfWork(engine) as uow:
        set_team(uow, ids.campaign_id, [TeamMemberInput("Phạm Quang Hùng", "head", username="doan"),
                                     TeamMemberInput("Lê Thị Thu", "secretary")],
                 ActorRef("Trần Minh Tuấn", ids.bureau, R.OFFICER, 1),
                 now=datetime(2025, 3, 17, 9, tzinfo=UTC))  # formed before its 2025 period ends
    return ids


@contextmanager
def scratch(w: World, stage: S | None = S.PLAN_ISSUED, status: C | None = C.LAUNCHED,
            **values) -> Iterator[UnitOfWork]:
    """The world with the school's file at `stage` and its campaign at `status`, inside a transaction
    rolled back afterwards (a use-case's commit included: the session joins the outer transaction)."""
    with w.engine.connect() as conn:
        outer = conn.begin()
        with UnitOfWork(conn) as uow:
            if stage is not None or values:
                uow.session.execute(update(Assessment).where(Assessment.id == w.aid)
                                    .values(**({"state": stage.value} if stage else {}), **values))
            if status is not None:
                uow.session.execute(update(Campaign).where(Campaign.id.in_(family_ids(uow.session, w.campaign_id)))
                                    .values(status=status.value))
            uow.session.expire_all()
            yield uow
        outer.rollback()


# Who: a role at one of four places. The school P1S1 (the school itself, and in scope of itself); its
# bureau P1 (supervisor, the child campaign's issuer, in scope); a review team member's login with no
# unit (only the team links them to the school); nobody's unit (the system's administrator).
PLACE = {"school": "school", "supervisor": "bureau", "issuer": "bureau", "scope": "bureau", "team": "team",
         "any": "nobody"}
HELD = {"school": {"school", "scope", "any"}, "bureau": {"supervisor", "issuer", "scope", "any"},
        "team": {"team", "any"}, "nobody": {"any"}}


def held(place: str, role: Role, action: str) -> set[str]:
    """The relations a person at this place holds in the world above (an administrator bound to no
    unit reads everything); a campaign's own acts know no school, so the school holds nothing there."""
    out = HELD[place] | ({"scope"} if place in ("team", "nobody") and role == R.ADMIN else set())
    if action in CAMPAIGN_SUBJECT and place == "school":
        out = {"any"}
    return out


def person(w: World, role: Role, relation: str) -> ActorRef:
    return at(w, role, PLACE[relation])


def at(w: World, role: Role, place: str) -> ActorRef:
    unit = {"school": w.school, "bureau": w.bureau, "team": None, "nobody": None}[place]
    account = w.reviewer_account if place == "team" else 9_000 + list(Role).index(role)
    return ActorRef(f"{role.label} thử nghiệm", unit, role, account)


def stranger(w: World, role: Role) -> ActorRef:
    """The role at a unit with no relation to the school or the campaign (another bureau's school)."""
    with UnitOfWork(w.engine) as uow:
        return ActorRef("Người ngoài", get_unit(uow, "P2S1").id, role, 8_999)


# --- the acts, each through the service function its doors call ---------------------------------

def offered(trigger: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    """A school's step as a page offers it: refused unless the step is among the allowed ones."""
    def act(uow: UnitOfWork, w: World, actor: ActorRef) -> None:
        a = uow.session.get(Assessment, w.aid)
        if trigger not in authorization.allowed_steps(uow.session, actor, a, [trigger]):
            raise TransitionRefused(f"không được đề xuất bước {trigger}")
    return act


def on_school(action: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: authorization.check_school(uow.session, actor, action, uow.session.get(Assessment, w.aid))


def on_campaign(action: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: authorization.check_campaign(uow.session, actor, action, w.campaign_id)


def read_campaign(action: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: authorization.readable_campaign(uow.session, actor, w.campaign_id, action)


def read_unit(action: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: authorization.check_read_unit(uow.session, actor, w.school, action)


def score(phase: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: scoring.save_answers(uow.session, w.aid, phase, {w.code: True}, actor)


def committee(uow: UnitOfWork, w: World, actor: ActorRef) -> None:
    set_committee(uow, w.aid, [MemberInput("Nguyễn Thị Hoa", "chair", "Hiệu trưởng"),
                               MemberInput("Lê Thị Mai", "secretary", "Giáo viên")], actor)


def steering(uow: UnitOfWork, w: World, actor: ActorRef) -> None:
    set_steering(uow, "P1S1", [SteeringInput("Nguyễn Thị Hoa", STEERING_ROLE, "Hiệu trưởng")], actor)


def listed(uow: UnitOfWork, w: World, actor: ActorRef) -> None:
    if w.campaign_id not in authorization.readable_campaign_ids(uow.session, actor):
        raise Forbidden("kế hoạch không có trong danh sách")


def campaign_step(trigger: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: advance_campaign(uow, w.campaign_id, trigger, actor)


def launch(uow: UnitOfWork, w: World, actor: ActorRef) -> None:
    launch_campaign(uow, issuer_code="P1", school_year="2025-2026", calendar=calendar(2025), actor=actor)


def on_unit(action: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    """A unit's own data (its signing identity, its schools' accounts), asked of the school P1S1."""
    return lambda uow, w, actor: authorization.check_unit(uow.session, actor, action, w.school)


def system(action: str) -> Callable[[UnitOfWork, World, ActorRef], None]:
    return lambda uow, w, actor: authorization.check_role(actor, action)


STAFF = [(R.SCHOOL_HEAD, "school"), (R.COMMITTEE, "school")]
REVIEW = [(R.OFFICER, "supervisor"), (R.REVIEWER, "team")]
READERS = [(R.OFFICER, "scope"), (R.REVIEWER, "scope"), (R.CLERK, "scope"), (R.ADMIN, "scope")]
SCHOOL_READERS = STAFF + READERS
ISSUER = [(R.OFFICER, "issuer")]
ADMIN = [(R.ADMIN, "any")]

# action: (the act, who may, the stages it is taken in (None: any), the campaign statuses (None: any))
LINES: dict[str, tuple[Callable, list, list | None, list | None]] = {
    "form_committee": (offered("form_committee"), [(R.SCHOOL_HEAD, "school")], [S.PLAN_ISSUED], ACTIVE),
    "start_self_assessment": (offered("start_self_assessment"), [(R.SCHOOL_HEAD, "school")], [S.COMMITTEE_FORMED],
                              ACTIVE),
    "submit_proposal": (offered("submit_proposal"), [(R.SCHOOL_HEAD, "school")], [S.SELF_ASSESSMENT], ACTIVE),
    "start_review": (offered("start_review"), REVIEW, [S.PROPOSAL], ACTIVE),
    "return_for_supplement": (offered("return_for_supplement"), REVIEW, [S.EXTERNAL_REVIEW], ACTIVE),
    "recognise": (offered("recognise"), [(R.OFFICER, "supervisor")], [S.EXTERNAL_REVIEW], ACTIVE),
    "publish": (offered("publish"), [(R.OFFICER, "supervisor")], [S.RECOGNITION], ACTIVE + [C.RECOGNISED]),
    "set_committee": (committee, [(R.SCHOOL_HEAD, "school")], OPEN, ACTIVE),
    "score_self": (score("self"), STAFF, OPEN, ACTIVE),
    "evidence": (on_school("evidence"), STAFF, OPEN, ACTIVE),
    "assign_criteria": (on_school("assign_criteria"), [(R.SCHOOL_HEAD, "school")], OPEN, ACTIVE),
    "record_meeting": (on_school("record_meeting"), STAFF + [(R.CLERK, "school")], OPEN, ACTIVE),
    "score_external": (score("external"), REVIEW, [S.EXTERNAL_REVIEW], ACTIVE),
    "view_assessment": (lambda uow, w, actor: authorization.readable_assessment(uow.session, actor, w.aid),
                        SCHOOL_READERS, None, None),
    "issue_school_paper": (on_school("issue_school_paper"), [(R.SCHOOL_HEAD, "school"), (R.CLERK, "school"),
                                                              (R.OFFICER, "supervisor"), (R.CLERK, "supervisor")],
                           None, NOT_DRAFT),
    "issue_authority_paper": (on_campaign("issue_authority_paper"), [(R.OFFICER, "issuer"), (R.CLERK, "issuer")],
                              None, NOT_DRAFT),
    "upload_signed_school_paper": (on_school("upload_signed_school_paper"),
                                   [(R.SCHOOL_HEAD, "school"), (R.CLERK, "school")], None, NOT_DRAFT),
    "upload_signed_authority_paper": (on_campaign("upload_signed_authority_paper"),
                                      [(R.OFFICER, "issuer"), (R.CLERK, "issuer")], None, NOT_DRAFT),
    "sign_school_paper": (on_school("sign_school_paper"), [(R.SCHOOL_HEAD, "school")], None, NOT_DRAFT),
    "sign_authority_paper": (on_campaign("sign_authority_paper"), ISSUER, None, NOT_DRAFT),
    "manage_signing": (on_unit("manage_signing"), [(R.SCHOOL_HEAD, "school"), (R.OFFICER, "school"),
                                                   (R.ADMIN, "scope")], None, None),
    "manage_school_accounts": (on_unit("manage_school_accounts"), [(R.OFFICER, "supervisor"), (R.ADMIN, "any")],
                               None, None),
    "set_steering": (steering, [(R.SCHOOL_HEAD, "school"), (R.OFFICER, "scope")], None, None),
    "launch_campaign": (launch, ISSUER, None, None),
    "campaign_start_review": (campaign_step("start_review"), ISSUER, None, [C.LAUNCHED]),
    "campaign_recognise": (campaign_step("recognise"), ISSUER, None, [C.REVIEWING]),
    "campaign_publish": (campaign_step("publish"), ISSUER, None, [C.RECOGNISED]),
    "campaign_close": (campaign_step("close"), ISSUER, None, [C.PUBLISHED]),
    "bulk": (on_campaign("bulk"), ISSUER, None, ACTIVE + [C.RECOGNISED]),
    "remind": (on_campaign("remind"), ISSUER, None, ACTIVE + [C.RECOGNISED]),
    "form_team": (on_campaign("form_team"), ISSUER, None, ACTIVE),
    "view_team": (read_campaign("view_team"), READERS, None, None),
    "view_campaigns": (read_campaign("view_campaigns"), READERS, None, None),
    "list_campaigns": (listed, READERS, None, None),
    "export_lists": (read_campaign("export_lists"), READERS, None, None),
    "download_paper": (read_unit("download_paper"), SCHOOL_READERS, None, None),
    "view_unit": (read_unit("view_unit"), SCHOOL_READERS, None, None),
    "manage_accounts": (system("manage_accounts"), ADMIN, None, None),
    "mailbox": (system("mailbox"), ADMIN, None, None),
    "publish_index_set": (system("publish_index_set"), ADMIN, None, None),
}
# Acts on the campaign itself (its issuer and the units above it), not on one school.
CAMPAIGN_SUBJECT = {"issue_authority_paper", "upload_signed_authority_paper", "sign_authority_paper",
                    "launch_campaign", "campaign_start_review",
                    "campaign_recognise", "campaign_publish", "campaign_close", "bulk", "remind", "form_team",
                    "view_team", "view_campaigns", "list_campaigns", "export_lists"}
# The campaign's steps move only from their own status (the machine's order, not a line of the table:
# pinned here all the same, through the use-case), so their status is the step's.
CAMPAIGN_STEP_STATUS = {"campaign_start_review": C.LAUNCHED, "campaign_recognise": C.REVIEWING,
                        "campaign_publish": C.RECOGNISED, "campaign_close": C.PUBLISHED}
# Where the school's file stands when a campaign step is allowed (no school left in review or waiting).
SETTLED = S.PUBLISHED


def _first(values, default):
    return values[0] if values else default


def allowed_in(action: str) -> tuple[S, C]:
    _, _, stages, statuses = LINES[action]
    if action in CAMPAIGN_STEP_STATUS:
        return SETTLED, CAMPAIGN_STEP_STATUS[action]
    return _first(stages, S.PLAN_ISSUED), _first(statuses, C.LAUNCHED)


def attempt(w: World, action: str, actor: ActorRef, stage: S, status: C) -> CdsError | None:
    act = LINES[action][0]
    with scratch(w, stage, status) as uow:
        try:
            act(uow, w, actor)
        except (Forbidden, TransitionRefused) as err:
            return err
    return None


@pytest.mark.parametrize("action", sorted(LINES))
def test_each_listed_person_may_in_each_listed_stage_and_status(world, action):
    _, who, stages, statuses = LINES[action]
    stage, status = allowed_in(action)
    for role, relation in who:
        refused = attempt(world, action, person(world, role, relation), stage, status)
        assert refused is None, (role, relation, refused and refused.details)
    role, relation = who[0]
    for st in stages or []:
        assert attempt(world, action, person(world, role, relation), st, status) is None, st
    for cs in statuses or []:
        if action not in CAMPAIGN_STEP_STATUS:
            assert attempt(world, action, person(world, role, relation), stage, cs) is None, cs


@pytest.mark.parametrize("action", sorted(LINES))
def test_everyone_else_and_every_other_stage_and_status_is_refused(world, action):
    _, who, stages, statuses = LINES[action]
    stage, status = allowed_in(action)
    role, relation = who[0]
    # Every role at every place: allowed exactly where the line gives that role a relation held there.
    for ro in Role:
        for place in HELD:
            expected = any((ro, rel) in who for rel in held(place, ro, action))
            refused = attempt(world, action, at(world, ro, place), stage, status)
            assert (refused is None) == expected, (ro, place, refused and refused.details)
    if relation not in ("any", "team"):
        assert attempt(world, action, stranger(world, role), stage, status) is not None
    for st in set(S) - set(stages or S):
        assert attempt(world, action, person(world, role, relation), st, status) is not None, st
    for cs in set(C) - set(statuses or C):
        assert attempt(world, action, person(world, role, relation), stage, cs) is not None, cs


# --- what each step requires of the stored facts -------------------------------------------------

OWN = {"proposed_by": "Chuyên viên Sở/Phòng thử nghiệm"}  # the officer below proposed it themselves
# (action, who asks, the file's stage, what is broken, the refusal that must name it)
REQUIREMENTS = [
    ("form_committee", R.SCHOOL_HEAD, S.PLAN_ISSUED, {}, "chưa có danh sách Hội đồng tự đánh giá"),
    ("start_self_assessment", R.SCHOOL_HEAD, S.COMMITTEE_FORMED, {}, "chưa có danh sách Hội đồng tự đánh giá"),
    ("submit_proposal", R.SCHOOL_HEAD, S.SELF_ASSESSMENT, {}, "chưa có danh sách Hội đồng tự đánh giá"),
    ("submit_proposal", R.SCHOOL_HEAD, S.SELF_ASSESSMENT, {}, "{code}"),  # every item scored first
    ("start_review", R.OFFICER, S.PROPOSAL, {"values": OWN}, "không được tự phê duyệt"),
    ("recognise", R.OFFICER, S.EXTERNAL_REVIEW, {"values": OWN, "override_reason": "Bão"}, "không được tự phê duyệt"),
    ("recognise", R.OFFICER, S.EXTERNAL_REVIEW, {}, "chưa nhập điểm mục nào"),
    ("return_for_supplement", R.OFFICER, S.EXTERNAL_REVIEW, {"reason": "  "}, "phải ghi rõ lý do"),
    ("publish", R.OFFICER, S.RECOGNITION, {}, "chưa có Quyết định công nhận"),
    # The form closed long ago and the calendar gives no window after a return: no send is left.
    ("return_for_supplement", R.OFFICER, S.EXTERNAL_REVIEW, {"reason": "Bổ sung", "form_closed": True},
     "trả hồ sơ thì trường không gửi lại được"),
]


@pytest.mark.parametrize(("action", "role", "stage", "broken", "reason"), REQUIREMENTS,
                         ids=[f"{r[0]}-{n}" for n, r in enumerate(REQUIREMENTS)])
def test_each_step_names_what_it_requires(world, action, role, stage, broken, reason):
    actor = person(world, role, "school" if role == R.SCHOOL_HEAD else "supervisor")
    broken = dict(broken)
    form_closed = broken.pop("form_closed", False)
    with scratch(world, stage, C.LAUNCHED, **broken.pop("values", {})) as uow:
        if form_closed:
            uow.session.execute(update(CampaignMilestone).where(
                CampaignMilestone.campaign_id.in_(family_ids(uow.session, world.campaign_id)),
                CampaignMilestone.stage == S.PROPOSAL.value).values(closes_at=datetime(2000, 1, 1, tzinfo=UTC)))
        problems = " ".join(step_refusals(uow, world.aid, action, actor, **broken))
    assert reason.format(code=world.code) in problems


@pytest.mark.parametrize(("action", "stage", "reason"), [
    ("campaign_recognise", S.EXTERNAL_REVIEW, "đang đánh giá ngoài"),
    ("campaign_close", S.EXTERNAL_REVIEW, "đang đánh giá ngoài"),
    ("campaign_publish", S.RECOGNITION, "chưa công bố"),
    ("campaign_close", S.RECOGNITION, "chưa công bố"),
], ids=["campaign_recognise-review", "campaign_close-review", "campaign_publish-waiting", "campaign_close-waiting"])
def test_campaign_steps_wait_for_their_schools(world, action, stage, reason):
    refused = attempt(world, action, person(world, R.OFFICER, "issuer"), stage, CAMPAIGN_STEP_STATUS[action])
    assert refused is not None and reason in " ".join(refused.details)
