"""Who may do what, in which school stage and campaign status, and what it requires: the one
table of the campaign's rules.

Every entry point (web pages, JSON API, CLI, scheduler, a Python caller of the service layer) asks
this table through `services/authorization.py`, for writes and reads alike (the `view_*`, `list_*`,
`export_*` and `download_*` lines), and the state machine's guard (`machine.py`) asks it for every
step. tests/integration/test_rule_table_use_cases.py pins every line through the use-cases
(`scripts/rulebook_mutants.py` loosens each line once and expects that file to fail). Legality is
written nowhere else: a page hides a button because `refusals()` says no, never because it knows a
rule of its own.

- `who`: pairs (role, relation to the school or campaign). A login carries its role; a person at the
  command line (`--unit`) has none and acts in the unit's natural role: a school as its head, a
  Sở/Phòng as its officer (`NATURAL_ROLE`).
- `stages`: the school stages where the action is legal (for the machine's steps, the step's source;
  the machine also checks it). `None`: the action is not about one school.
- `campaign`: the campaign statuses that allow it; a draft, recognised, published or closed
  campaign allows only what its line says.
- `requires`: pure checks of stored facts (states/<stage>.py holds what entering a stage requires).
  Each declares the facts it reads (`context.needs`); a rule asked without one of them, or without
  the stage or campaign status its line names, fails closed: it refuses (and under tests, where
  `CDSFLOW_STRICT_RULES=1`, raises `MissingFacts` so the forgotten fact is found).

Paper-specific gates (which paper at which stage) live in their own table next to this one
(`document_types.yaml`); this table says who may issue papers at all.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from cdsflow.kernel.errors import Forbidden, TransitionRefused
from cdsflow.kernel.stages import CampaignStatus, Stage
from cdsflow.workflow.context import MissingFacts, TransitionContext, strict_facts
from cdsflow.workflow.roles import Role
from cdsflow.workflow.states import STATE_MODULES
from cdsflow.workflow.states import campaign as campaign_rules
from cdsflow.workflow.states._rules import not_the_proposer, reason_given, resend_possible
from cdsflow.workflow.states.committee_formed import committee_problems
from cdsflow.workflow.states.proposal import proposal_problems
from cdsflow.workflow.states.published import recognition_decision_issued
from cdsflow.workflow.states.recognition import review_complete_or_override


class Relation(StrEnum):
    SCHOOL = "school"  # the school itself
    SUPERVISOR = "supervisor"  # a unit above the school (its Phòng, its Sở)
    TEAM = "team"  # a member of the review team the school's campaign is assigned to
    ISSUER = "issuer"  # the campaign's issuing unit or a unit above it
    SCOPE = "scope"  # the unit concerned or a unit above it (reading only)
    ANY = "any"  # no relation needed (system administration)


RELATION_TEXT = {
    Relation.SCHOOL: "của chính cơ sở giáo dục",
    Relation.SUPERVISOR: "của đơn vị quản lý cấp trên của cơ sở giáo dục",
    Relation.TEAM: "là thành viên đoàn đánh giá ngoài được phân công cho cơ sở giáo dục",
    Relation.ISSUER: "của đơn vị phát động kế hoạch (hoặc cấp trên)",
    Relation.SCOPE: "của đơn vị có thẩm quyền",
    Relation.ANY: "",
}

# The role a person without a login (the CLI) holds, by the relation their unit has.
NATURAL_ROLE = {Relation.SCHOOL: Role.SCHOOL_HEAD, Relation.SUPERVISOR: Role.OFFICER,
                Relation.ISSUER: Role.OFFICER, Relation.SCOPE: Role.OFFICER}

Check = Callable[[TransitionContext], list[str]]
R, L = Role, Relation
ACTIVE = frozenset({CampaignStatus.LAUNCHED, CampaignStatus.REVIEWING})
NOT_DRAFT = frozenset(set(CampaignStatus) - {CampaignStatus.DRAFT})
# Stages where the school's own file is open (the proposal locks it until a return).
OPEN_STAGES = frozenset(s for s, m in STATE_MODULES.items() if not m.LOCKS)


@dataclass(frozen=True)
class Rule:
    action: str
    label: str  # the action in Vietnamese, as in "Không thể {label}"
    who: tuple[tuple[Role, Relation], ...]
    stages: frozenset[Stage] | None = None
    campaign: frozenset[CampaignStatus] | None = None
    requires: tuple[Check, ...] = ()


def _rule(action: str, label: str, who: Iterable[tuple[Role, Relation]], stages: Iterable[Stage] | None = None,
          campaign: Iterable[CampaignStatus] | None = None, requires: Iterable[Check] = ()) -> Rule:
    return Rule(action, label, tuple(who), frozenset(stages) if stages is not None else None,
                frozenset(campaign) if campaign is not None else None, tuple(requires))


SCHOOL_STAFF = ((R.SCHOOL_HEAD, L.SCHOOL), (R.COMMITTEE, L.SCHOOL))
REVIEWERS = ((R.OFFICER, L.SUPERVISOR), (R.REVIEWER, L.TEAM))
S = Stage

RULES: dict[str, Rule] = {r.action: r for r in (
    # --- the school's steps (machine.STEPS) ------------------------------------------------------
    _rule("form_committee", "xác nhận thành lập Hội đồng tự đánh giá", [(R.SCHOOL_HEAD, L.SCHOOL)],
          {S.PLAN_ISSUED}, ACTIVE, [committee_problems]),
    _rule("start_self_assessment", "bắt đầu tự đánh giá", [(R.SCHOOL_HEAD, L.SCHOOL)],
          {S.COMMITTEE_FORMED}, ACTIVE, [committee_problems]),
    _rule("submit_proposal", "gửi tờ trình đề nghị đánh giá ngoài", [(R.SCHOOL_HEAD, L.SCHOOL)],
          {S.SELF_ASSESSMENT}, ACTIVE, [committee_problems, proposal_problems]),
    _rule("start_review", "tiếp nhận hồ sơ, bắt đầu đánh giá ngoài", REVIEWERS,
          {S.PROPOSAL}, ACTIVE, [not_the_proposer]),
    _rule("return_for_supplement", "trả hồ sơ, yêu cầu bổ sung", REVIEWERS,
          {S.EXTERNAL_REVIEW}, ACTIVE, [reason_given, resend_possible]),
    _rule("recognise", "công nhận mức độ chuyển đổi số", [(R.OFFICER, L.SUPERVISOR)],
          {S.EXTERNAL_REVIEW}, ACTIVE, [not_the_proposer, review_complete_or_override]),
    _rule("publish", "công bố kết quả", [(R.OFFICER, L.SUPERVISOR)],
          {S.RECOGNITION}, ACTIVE | {CampaignStatus.RECOGNISED}, [recognition_decision_issued]),
    # --- the school's file ---------------------------------------------------------------------
    _rule("set_committee", "cập nhật Hội đồng tự đánh giá", [(R.SCHOOL_HEAD, L.SCHOOL)], OPEN_STAGES, ACTIVE),
    _rule("score_self", "nhập điểm tự đánh giá", SCHOOL_STAFF, OPEN_STAGES, ACTIVE),
    _rule("evidence", "thêm, sửa hoặc xóa minh chứng", SCHOOL_STAFF, OPEN_STAGES, ACTIVE),
    _rule("assign_criteria", "phân công tiêu chí", [(R.SCHOOL_HEAD, L.SCHOOL)], OPEN_STAGES, ACTIVE),
    _rule("record_meeting", "ghi nội dung cuộc họp Hội đồng", SCHOOL_STAFF + ((R.CLERK, L.SCHOOL),), OPEN_STAGES,
          ACTIVE),
    _rule("score_external", "nhập điểm đánh giá ngoài", REVIEWERS, {S.EXTERNAL_REVIEW}, ACTIVE),
    _rule("view_assessment", "xem hồ sơ đánh giá",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.COMMITTEE, L.SCHOOL), (R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE),
           (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    # --- papers (which paper at which stage: document_types.yaml) -------------------------------
    _rule("issue_school_paper", "lập văn bản của cơ sở giáo dục",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.CLERK, L.SCHOOL), (R.OFFICER, L.SUPERVISOR), (R.CLERK, L.SUPERVISOR)],
          campaign=NOT_DRAFT),
    _rule("issue_authority_paper", "lập văn bản của đơn vị phát động",
          [(R.OFFICER, L.ISSUER), (R.CLERK, L.ISSUER)], campaign=NOT_DRAFT),
    # The signed copy (scan or digital signature) of a numbered paper: the issuer's side uploads its own.
    _rule("upload_signed_school_paper", "tải lên bản đã ký của văn bản của cơ sở giáo dục",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.CLERK, L.SCHOOL)], campaign=NOT_DRAFT),
    _rule("upload_signed_authority_paper", "tải lên bản đã ký của văn bản của đơn vị phát động",
          [(R.OFFICER, L.ISSUER), (R.CLERK, L.ISSUER)], campaign=NOT_DRAFT),
    # Digital signatures: the unit's certificate, signature and seal images are kept by its head or
    # by an administrator at or above it; signing a numbered paper with them is its signer's act.
    _rule("manage_signing", "quản lý chứng thư số, ảnh chữ ký và con dấu của đơn vị",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.OFFICER, L.SCHOOL), (R.ADMIN, L.SCOPE)]),
    _rule("sign_school_paper", "ký số văn bản của cơ sở giáo dục", [(R.SCHOOL_HEAD, L.SCHOOL)],
          campaign=NOT_DRAFT),
    _rule("sign_authority_paper", "ký số văn bản của đơn vị phát động", [(R.OFFICER, L.ISSUER)],
          campaign=NOT_DRAFT),
    # A unit's own steering group for IT and CĐS (criterion 2.1): its head, or an officer of it or above it.
    _rule("set_steering", "cập nhật bộ phận chỉ đạo chuyển đổi số của đơn vị",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.OFFICER, L.SCOPE)]),
    # --- the campaign --------------------------------------------------------------------------
    _rule("launch_campaign", "phát động kế hoạch", [(R.OFFICER, L.ISSUER)]),
    # The campaign's own steps: which status each moves from is the machine's (machine.CAMPAIGN_STEPS,
    # checked before these lines are asked), so these lines say only who and what the schools must
    # have done. Moving into the review phase asks nothing of the schools (a school may still propose,
    # and a campaign nobody took part in must still be closable); the later steps do.
    _rule("campaign_start_review", "chuyển kế hoạch sang đánh giá ngoài", [(R.OFFICER, L.ISSUER)]),
    _rule("campaign_recognise", "chuyển kế hoạch sang đã công nhận", [(R.OFFICER, L.ISSUER)],
          requires=[campaign_rules.no_school_in_review]),
    _rule("campaign_publish", "công bố kết quả của kế hoạch", [(R.OFFICER, L.ISSUER)],
          requires=[campaign_rules.no_school_awaiting_publication]),
    _rule("campaign_close", "kết thúc kế hoạch", [(R.OFFICER, L.ISSUER)],
          requires=[campaign_rules.no_school_in_review, campaign_rules.no_school_awaiting_publication]),
    _rule("bulk", "thực hiện hàng loạt", [(R.OFFICER, L.ISSUER)], campaign=ACTIVE | {CampaignStatus.RECOGNISED}),
    # Reminders (the scheduler's and an officer's nudge) run while schools still have steps to take.
    _rule("remind", "nhắc hạn các cơ sở giáo dục", [(R.OFFICER, L.ISSUER)],
          campaign=ACTIVE | {CampaignStatus.RECOGNISED}),
    _rule("form_team", "lập đoàn đánh giá ngoài và lịch làm việc", [(R.OFFICER, L.ISSUER)], campaign=ACTIVE),
    _rule("view_team", "xem đoàn đánh giá ngoài",
          [(R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE), (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    _rule("view_campaigns", "xem kế hoạch",
          [(R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE), (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    # --- reading (a refusal reads as "not found" on the web: ids leak nothing) -------------------
    # The list of campaigns shows those of the person's unit and the units above it.
    _rule("list_campaigns", "xem danh sách kế hoạch",
          [(R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE), (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    # Excel exports of a campaign's lists (schools, results for the sector database, overdue schools).
    _rule("export_lists", "xuất danh sách của kế hoạch ra Excel",
          [(R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE), (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    # A numbered paper of a unit (a school's or an authority's), downloaded as .docx or PDF.
    _rule("download_paper", "tải văn bản",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.COMMITTEE, L.SCHOOL), (R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE),
           (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    # A unit's own records (its steering group, its papers list).
    _rule("view_unit", "xem thông tin của đơn vị",
          [(R.SCHOOL_HEAD, L.SCHOOL), (R.COMMITTEE, L.SCHOOL), (R.OFFICER, L.SCOPE), (R.REVIEWER, L.SCOPE),
           (R.CLERK, L.SCOPE), (R.ADMIN, L.SCOPE)]),
    # --- the system ----------------------------------------------------------------------------
    _rule("manage_accounts", "quản lý tài khoản", [(R.ADMIN, L.ANY)]),
    # The ward (or Phòng) runs its own schools' accounts: create, send a link, lock. The unit stands
    # where a school would: SUPERVISOR is the school's chain above it.
    _rule("manage_school_accounts", "quản lý tài khoản của cơ sở giáo dục", [(R.OFFICER, L.SUPERVISOR), (R.ADMIN, L.ANY)]),
    _rule("mailbox", "xem hộp thư của hệ thống", [(R.ADMIN, L.ANY)]),
    # A new version of an index set (the official table of 3276, 3806, a revised 4725), by the Sở's administrator.
    _rule("publish_index_set", "công bố phiên bản bộ chỉ số", [(R.ADMIN, L.ANY)]),
)}

for _r in RULES.values():  # a requirement that does not say what it reads could never fail closed
    for _check in _r.requires:
        if not isinstance(getattr(_check, "needs", None), frozenset):
            raise TypeError(f"rulebook: requirement {_check.__name__} of {_r.action!r} declares no facts (@needs)")

# The campaign's own steps (machine.CAMPAIGN_STEPS) and the rule that governs each.
CAMPAIGN_ACTIONS = {"start_review": "campaign_start_review", "recognise": "campaign_recognise",
                    "publish": "campaign_publish", "close": "campaign_close"}


def rule(action: str) -> Rule:
    found = RULES.get(action)
    if found is None:
        raise KeyError(f"rulebook has no action {action!r}")
    return found


def relations(ctx: TransitionContext) -> frozenset[Relation]:
    """The actor's relations to the school and campaign of `ctx` (pure: from the gathered facts)."""
    unit, out = ctx.actor.unit_id, {Relation.ANY}
    if unit is not None and ctx.school_id is not None:
        if unit == ctx.school_id:
            out.add(Relation.SCHOOL)
        if unit in ctx.supervisors:
            out.add(Relation.SUPERVISOR)
    if ctx.actor.account_id is not None and ctx.actor.account_id in ctx.team_accounts:
        out.add(Relation.TEAM)
    if unit is not None and unit in ctx.issuer_chain:
        out.add(Relation.ISSUER)
    if Relation.SCHOOL in out or Relation.SUPERVISOR in out or Relation.ISSUER in out:
        out.add(Relation.SCOPE)
    if ctx.actor.role == Role.ADMIN and unit is None:
        out.add(Relation.SCOPE)  # a system administrator bound to no unit reads everything
    return frozenset(out)


def role_may(role: Role | None, action: str) -> bool:
    """Whether a role can ever take the action (what a menu shows before any school is chosen)."""
    return role is None or any(r == role for r, _ in rule(action).who)


def reach(action: str, role: Role | None, unit_id: int | None) -> str:
    """How far a reading line reaches for this person, for lists filtered in SQL rather than one
    file at a time: "all", "subtree" (their unit and every unit under it), "own" (their unit only)
    or "none". The same answer `relations` + `who_refusal` give for each unit, set-based."""
    held = {rel for allowed_role, rel in rule(action).who
            if allowed_role == role or (role is None and NATURAL_ROLE.get(rel) == allowed_role)}
    if unit_id is None:
        return "all" if role == Role.ADMIN and Relation.SCOPE in held else "none"
    if held & {Relation.SCOPE, Relation.SUPERVISOR}:
        return "subtree"
    return "own" if Relation.SCHOOL in held else "none"


def who_text(r: Rule) -> str:
    parts = []
    for role, relation in r.who:
        text = f"{role.label} {RELATION_TEXT[relation]}".strip()
        if text not in parts:
            parts.append(text)
    return "; ".join(parts)


def who_refusal(r: Rule, ctx: TransitionContext) -> list[str]:
    have = relations(ctx)
    role = ctx.actor.role
    for allowed_role, relation in r.who:
        if relation not in have:
            continue
        if role is None and NATURAL_ROLE.get(relation) == allowed_role:
            return []
        if role == allowed_role:
            return []
    if role is not None and not role_may(role, r.action):
        return [f"tài khoản vai trò «{role.label}» không được {r.label}"]
    if any(rel == Relation.SUPERVISOR for _, rel in r.who) and Relation.SCHOOL not in {rel for _, rel in r.who}:
        lead = "người thực hiện phải thuộc đơn vị quản lý cấp trên của cơ sở giáo dục"
        if any(rel == Relation.TEAM for _, rel in r.who):
            lead += " hoặc là thành viên đoàn đánh giá ngoài được phân công cho cơ sở giáo dục"
        return [lead]
    if all(rel == Relation.SCHOOL for _, rel in r.who):
        return ["chỉ chính cơ sở giáo dục mới thực hiện được bước này"]
    return [f"chỉ {who_text(r)} mới được {r.label}"]


def missing_facts(r: Rule, ctx: TransitionContext) -> list[str]:
    """The facts the rule reads that the caller did not gather."""
    missing = set()
    if r.stages is not None and ctx.stage is None:
        missing.add("stage")
    if r.campaign is not None and ctx.campaign_status is None:
        missing.add("campaign_status")
    for check in r.requires:
        missing |= check.needs - ctx.known  # type: ignore[attr-defined]
    return sorted(missing)


MISSING_TEXT = "thiếu dữ kiện để xét quy định ({}): hệ thống từ chối để an toàn, hãy báo quản trị hệ thống"


def refusals(action: str, ctx: TransitionContext) -> list[str]:
    """Every reason the action is refused for these facts (empty: allowed). Asked without a fact it
    reads, the rule refuses (fails closed); in strict mode (tests) it raises `MissingFacts`."""
    r = rule(action)
    missing = missing_facts(r, ctx)
    if missing and strict_facts():
        raise MissingFacts(f"rule {action!r} asked without the facts {', '.join(missing)}")
    problems = who_refusal(r, ctx)
    if missing:
        problems.append(MISSING_TEXT.format(", ".join(missing)))
    if r.stages == OPEN_STAGES and ctx.stage is not None and ctx.stage not in r.stages:
        problems.append(f"hồ sơ đang ở giai đoạn «{ctx.stage.label}» nên đã khóa: chỉ sửa được khi cấp trên "
                        "trả lại để bổ sung")
    elif r.stages is not None and ctx.stage is not None and ctx.stage not in r.stages:
        wanted = ", ".join(f"«{s.label}»" for s in sorted(r.stages, key=lambda s: s.order))
        problems.append(f"hồ sơ đang ở giai đoạn «{ctx.stage.label}» (cần: {wanted})")
    if r.campaign is not None and ctx.campaign_status is not None and ctx.campaign_status not in r.campaign:
        wanted = ", ".join(f"«{s.label}»" for s in CampaignStatus if s in r.campaign)
        problems.append(f"kế hoạch đang ở trạng thái «{ctx.campaign_status.label}» (cần: {wanted})")
    for check in r.requires:
        if not check.needs - ctx.known:  # type: ignore[attr-defined]
            problems.extend(check(ctx))
    return problems


def enforce(action: str, ctx: TransitionContext, label: str | None = None) -> None:
    """Raise with every reason: `Forbidden` when this person may not take the action at all (HTTP 403,
    exit code 6), `TransitionRefused` when it is not the time or something is missing (409, exit 4)."""
    problems = refusals(action, ctx)
    if not problems:
        return
    r = rule(action)
    cls = Forbidden if who_refusal(r, ctx) else TransitionRefused
    raise cls(f"Không thể {label or r.label}:", details=problems)


def enforce_who(action: str, ctx: TransitionContext, label: str | None = None) -> None:
    """Only the person's part of the rule: asked first, so that someone who may never take the action
    hears that (403), not that the file is at another stage or was changed meanwhile."""
    r = rule(action)
    problems = who_refusal(r, ctx)
    if problems:
        raise Forbidden(f"Không thể {label or r.label}:", details=problems)
