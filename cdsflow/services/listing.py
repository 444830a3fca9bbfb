"""The officer's lists at national scale: the schools of a campaign filtered, sorted and paged in
SQL, and the province view (one line per Phòng/ward) as one GROUP BY.

Web pages, the JSON API and the Excel exports call these; nothing loads a campaign's schools into
Python to filter or count them. "Late" means what the dashboard means (`campaigns.campaign_status`):
the school's stage has a next milestone in its own campaign whose deadline has passed.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import CTE, ColumnElement, Select, and_, case, false, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from cdsflow.calendars.timeutil import days_left
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import STAGE_ORDER, CampaignStatus, Stage
from cdsflow.services import figures_stamp
from cdsflow.services.campaigns import (
    CampaignStatusView,
    LateSchool,
    MilestoneView,
    StageLine,
    campaign_status,
    family_ids,
    late_where,
    next_milestones,
    passed_ranks,
)
from cdsflow.services.lookups import family_select
from cdsflow.services.overview import LevelChart, level_charts
from cdsflow.services.paging import PER_PAGE, page_numbers, search
from cdsflow.storage.assessment_tables import AssessmentScore
from cdsflow.storage.collation import sorts_natively, vi_key, vi_order
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.listing_tables import AssessmentResult, CampaignFigures
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit
from cdsflow.workflow.units import LEVEL_LABELS, EducationLevel

if TYPE_CHECKING:  # imported where used, as before (overview imports this module)
    from cdsflow.services.campaigns import CampaignStatusView
    from cdsflow.services.overview import LevelChart

R = AssessmentResult
# The campaign's family: its ids, or (a Sở campaign with its wards) a SELECT of them, so that a query
# over 3,321 ward campaigns is written and bound like one over 3.
Family = list[int] | SelectOfScalar[int]
# Which schools are late: per campaign (`late_stages`), or as SQL (`campaigns.passed_ranks`).
Late = dict[int, dict[str, MilestoneView]] | CTE
_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])
SUBMITTED = tuple(s.value for s in STAGE_ORDER if s.order >= Stage.PROPOSAL.order)
LEVEL_CHOICES = (("0", "Chưa đạt mức"), ("1", "Mức 1"), ("2", "Mức 2"), ("3", "Mức 3"))

# Sort keys a page may ask for, with their Vietnamese column names.
SORT_LABELS = {
    "code": "Mã", "name": "Tên cơ sở", "bureau": "Phòng/xã, phường", "stage": "Giai đoạn",
    "self1": "Tự đánh giá nhóm 1", "self2": "Tự đánh giá nhóm 2", "ext1": "Đánh giá ngoài nhóm 1",
    "ext2": "Đánh giá ngoài nhóm 2", "sends": "Số lần gửi", "submitted": "Ngày gửi tờ trình",
}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


@dataclass(frozen=True)
class ListQuery:
    """What an officer asked of the list; built from a query string by `from_params`."""

    q: str = ""
    stage: str = ""
    late: bool = False
    bureau: int | None = None  # the school's supervising unit (Phòng or ward)
    school_level: str = ""  # the unit's education level (EducationLevel: tieu_hoc, thcs…)
    level1: str = ""  # "" any, "0" no level, "1".."3": the level that counts for group 1
    level2: str = ""
    sort: str = "code"
    desc: bool = False
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ListQuery:
        """From a query string (or any mapping); a bad value is refused with its Vietnamese name."""
        get: Callable[[str], str] = lambda k: str(params.get(k, "") or "").strip()  # noqa: E731
        stage = get("stage")
        if stage and stage not in {s.value for s in STAGE_ORDER}:
            raise InvalidInput(f"Giai đoạn không rõ: «{stage}»")
        for key in ("level1", "level2"):
            if get(key) and get(key) not in {v for v, _ in LEVEL_CHOICES}:
                raise InvalidInput(f"Mức không rõ: «{get(key)}»")
        if get("school_level") and get("school_level") not in {lv.value for lv in EducationLevel}:
            raise InvalidInput(f"Cấp học không rõ: «{get('school_level')}»")
        sort = get("sort") or "code"
        if sort not in SORT_LABELS:
            raise InvalidInput(f"Không sắp xếp được theo «{sort}»")
        page, per_page = page_numbers(params, PER_PAGE)
        try:
            bureau = int(get("bureau")) if get("bureau") else None
        except ValueError:
            raise InvalidInput("Đơn vị phải là số nguyên") from None
        return cls(q=get("q")[:100], stage=stage, late=get("late") in ("1", "on", "true"), bureau=bureau,
                   school_level=get("school_level"), level1=get("level1"), level2=get("level2"),
                   sort=sort, desc=get("dir") == "desc", page=page, per_page=per_page)

    def params(self, **change: Any) -> dict[str, str]:
        """The query string of this query (with `change` applied), empty values left out."""
        q = replace(self, **change)
        out = {"q": q.q, "stage": q.stage, "late": "1" if q.late else "", "bureau": str(q.bureau or ""),
               "school_level": q.school_level, "level1": q.level1, "level2": q.level2,
               "sort": "" if q.sort == "code" else q.sort, "dir": "desc" if q.desc else "",
               "page": "" if q.page == 1 else str(q.page), "per_page": "" if q.per_page == PER_PAGE else str(q.per_page)}
        return {k: v for k, v in out.items() if v}


@dataclass
class SchoolLine:
    assessment_id: int
    code: str
    name: str
    bureau: str
    school_level: str
    stage: Stage
    version: int
    self1: float | None
    self1_level: int | None
    self2: float | None
    self2_level: int | None
    ext1: float | None
    ext1_level: int | None
    ext2: float | None
    ext2_level: int | None
    level1: int | None  # the level that counts (the review's when complete, else the school's own)
    level2: int | None
    sends: int
    submitted_at: datetime | None
    days_late: int | None  # days past the deadline of the school's next milestone; None: not late
    late_milestone: str = ""
    review_counts: bool = False  # the review scored every item: its levels are the ones that count
    unconfirmed: bool = False  # points stand on a tier marked unconfirmed ("bậc điểm chưa xác nhận")


@dataclass
class SchoolListPage:
    campaign_id: int
    query: ListQuery
    rows: list[SchoolLine]
    total: int
    pages: int
    bureaus: list[tuple[int, str]] = field(default_factory=list)
    school_levels: list[tuple[str, str]] = field(default_factory=list)


# --- late: per campaign, the stages whose next milestone has passed ---------------------------


def late_stages(session: Session, ids: list[int], now: datetime, *,
                root: int | None = None) -> dict[int, dict[str, MilestoneView]]:
    """{campaign id: {stage value: the passed milestone}}; a child without milestones uses its root's
    (default: the first id). The children of a Sở campaign share its calendar, so the work is done once
    per distinct calendar."""
    root = ids[0] if root is None else root
    stage_of = {s.value: s for s in STAGE_ORDER}
    rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    m = CampaignMilestone  # plain columns, not ORM objects: a province has ~1,000 milestone rows
    for cid, *values in session.execute(select(m.campaign_id, m.key, m.title, m.stage, m.due_at)  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
                                        .where(col(m.campaign_id).in_({*ids, root}))
                                        .order_by(col(m.campaign_id), col(m.position))):
        rows[cid].append(tuple(values))
    out: dict[int, dict[str, MilestoneView]] = {}
    memo: dict[tuple[Any, ...], dict[str, MilestoneView]] = {}
    for cid in ids:
        key = tuple(rows.get(cid) or rows.get(root) or ())
        if key not in memo:
            views = [MilestoneView(k, t, stage_of.get(st), due) for k, t, st, due in key]
            memo[key] = {s.value: mv for s, mv in next_milestones(views).items()
                         if mv is not None and mv.due_at is not None and mv.due_at < now}  # dated: next_milestones
        out[cid] = memo[key]
    return out


def late_condition(late: Late, campaign: Any = None) -> ColumnElement[bool]:
    """SQL truth of "this assessment is late": from `campaigns.passed_ranks` (seven terms, whatever
    the family's size), or from `late_stages` with campaigns grouped by their set of late stages, so
    the expression has one term per distinct calendar, not one per campaign."""
    if isinstance(late, CTE):
        return late_where(late, campaign)
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for cid, stages in late.items():
        if stages:
            groups[tuple(sorted(stages))].append(cid)
    if not groups:
        return false()
    campaign = col(Assessment.campaign_id) if campaign is None else campaign
    return or_(*[and_(campaign.in_(cids), col(Assessment.state).in_(states)) for states, cids in groups.items()])


# --- the schools list ----------------------------------------------------------------------------


def _campaign_ids(session: Session, campaign_id: int, *, listed: bool = True) -> list[int]:
    """The family's ids (`listed=False`: only check that the campaign exists)."""
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    return family_ids(session, campaign_id) if listed else [campaign_id]


def _scores() -> tuple[type[AssessmentResult], type[AssessmentResult]]:
    """(the result lines, the same): kept as a pair so the callers read as before."""
    return AssessmentResult, AssessmentResult


def _counted(own: Any, ext: Any, column: str) -> Any:
    """The level that counts for a group (`group1_level` → `level1`), stored on the result line."""
    return getattr(AssessmentResult, "level" + column[5])


def _unleveled(column: str) -> Any:
    """"Chưa đạt mức" for a group: the score that counts is complete and reached no level. A school
    never scored (or still scoring) has no level either, but it is not below level 1."""
    # OFFSET 0 keeps this EXISTS an index probe per school that reaches the test: PostgreSQL may
    # otherwise turn it into a hash of the whole score table (it did for a Sở of 98 wards: 2 × 7.5 ms,
    # the province view 2× that of the same schools under 4 wards), a choice that follows its
    # estimate of the family's size. An EXISTS with an OFFSET is never turned into one.
    own_done = select(AssessmentScore.id).where(
        col(AssessmentScore.assessment_id) == R.assessment_id, AssessmentScore.phase == "self",
        col(AssessmentScore.complete).is_(True)).offset(0).exists()
    return and_(col(R.assessment_id).is_not(None), _counted(None, None, column).is_(None),
                or_(col(R.review_counts).is_(True), own_done))


def _filtered(query: ListQuery, ids: Family, late: Late, own: Any, ext: Any,
              sup: Any) -> Select[*tuple[Any, ...]]:
    """Every matching row with its scores and supervising unit (the exports' query)."""
    stmt: Select[*tuple[Any, ...]] = _with_scores(select().select_from(Assessment).join(Unit, Unit.id == Assessment.school_id)  # type: ignore[call-overload]  # columns: add_columns by the caller
                        .outerjoin(sup, sup.id == Unit.supervisor_id), own, ext)
    return stmt.where(*_where(query, ids, late, own, ext), *_unit_where(query))


def _order(query: ListQuery, own: Any, ext: Any, sup: Any) -> list[Any]:
    stage_rank = case({s.value: s.order for s in STAGE_ORDER}, value=Assessment.state)
    column: Any = {  # Any: model attributes type as their values
        "code": Unit.code, "name": vi_order(Unit.name), "bureau": vi_order(sup.name), "stage": stage_rank,
        "self1": R.self1, "self2": R.self2, "ext1": R.ext1, "ext2": R.ext2,
        "sends": Assessment.proposal_count, "submitted": Assessment.proposed_at,
    }[query.sort]
    first = column.desc() if query.desc else column.asc()
    # Empty values last either way: an officer sorting by score wants the scored schools first. Ties
    # follow the direction, so that a score index walked backwards gives the same order.
    return [column.is_(None), first, col(Assessment.id).desc() if query.desc else col(Assessment.id)]


def _columns(own: Any, ext: Any, sup: Any) -> tuple[Any, ...]:
    return (Assessment.id, Unit.code, Unit.name, sup.name, Unit.education_level, Assessment.state,
            Assessment.version, R.self1, R.self1_level, R.self2, R.self2_level,
            R.ext1, R.ext1_level, R.ext2, R.ext2_level, R.level1, R.level2,
            Assessment.proposal_count, Assessment.proposed_at, R.review_counts, R.unconfirmed, Assessment.campaign_id)


def _line(row: Any, late: dict[int, dict[str, MilestoneView]], now: datetime) -> SchoolLine:
    *values, campaign_id = row
    (aid, code, name, bureau, level, state, version, s1, s1l, s2, s2l, e1, e1l, e2, e2l, l1, l2, sends, at,
     review_counts, unconfirmed) = values
    passed = late.get(campaign_id, {}).get(state)
    return SchoolLine(aid, code, name, bureau or "", LEVEL_LABELS.get(level, level or ""), Stage(state), version,
                      s1, s1l, s2, s2l, e1, e1l,
                      e2, e2l, l1, l2, sends or 0, at,
                      max(1, -days_left(cast(datetime, passed.due_at), now)) if passed else None, passed.title if passed else "",
                      bool(review_counts), bool(unconfirmed))


def _where(query: ListQuery, ids: Family, late: Late, own: Any, ext: Any, *,
           hinted: bool = False, scope: Any = None) -> list[Any]:
    """Conditions on the assessment and its scores. `hinted`: compare `campaign_id + 0`, so the
    database reaches the assessment through its school (one index probe) rather than through the
    campaign index (one probe per campaign of the family: 137 in a province). `scope`: the family
    as a condition on the result line instead (the list is driven from the result indexes)."""
    campaign = (col(Assessment.campaign_id) + 0) if hinted or scope is not None else col(Assessment.campaign_id)
    where = [campaign.in_(ids)] if scope is None else [scope]
    if query.stage:
        where.append(Assessment.state == query.stage)
    if query.late:
        where.append(late_condition(late, campaign))
    for wanted, column in ((query.level1, "group1_level"), (query.level2, "group2_level")):
        if wanted:
            counted = _counted(own, ext, column)
            where.append(_unleveled(column) if wanted == "0" else counted == int(wanted))
    return where


def _unit_where(query: ListQuery) -> list[Any]:
    where = []
    if query.q:
        where.append(search((Unit.code, Unit.name), query.q))
    if query.bureau is not None:
        where.append(col(Unit.supervisor_id) == query.bureau)
    if query.school_level:
        where.append(col(Unit.education_level) == query.school_level)
    return where


def _with_scores(stmt: _S, own: Any = None, ext: Any = None) -> _S:
    return stmt.outerjoin(R, col(R.assessment_id) == col(Assessment.id))


SCORE_SORTS = {"self1": "self1", "self2": "self2", "ext1": "ext1", "ext2": "ext2"}


def _leveled(query: ListQuery) -> bool:
    """A level filter that only scored schools can meet: the result lines answer it through their index."""
    return any(v and v != "0" for v in (query.level1, query.level2))


def _scope(session: Session, campaign_id: int) -> ColumnElement[bool]:
    """The campaign's family as a condition on the result lines: a Sở campaign by its root column,
    a Phòng child by its own."""
    parent = session.execute(select(Campaign.parent_id).where(Campaign.id == campaign_id)).scalar()
    return col(R.root_id) == campaign_id if parent is None else col(R.campaign_id) == campaign_id


def _from_results(query: ListQuery, ids: Family, late: Late, scope: Any, *extra: Any,
                  counting: bool = False) -> SelectOfScalar[int]:
    """Assessment ids driven from the result lines (scored schools only), every filter applied;
    `counting`: only the joins the filters need (a count reads the level index alone)."""
    unit_where = _unit_where(query)
    if not (unit_where or query.stage or query.late) and (counting or query.sort in SCORE_SORTS):
        return select(R.assessment_id).where(scope, *_where(query, ids, late, R, R, scope=scope)[1:], *extra)
    stmt = select(Assessment.id).select_from(R).join(Assessment, col(Assessment.id) == R.assessment_id)
    if unit_where or (query.sort in ("code", "name", "bureau") and not counting):
        stmt = stmt.join(Unit, col(Unit.id) == Assessment.school_id)
    return stmt.where(*_where(query, ids, late, R, R, scope=scope), *unit_where, *extra)


def _page_ids(session: Session, query: ListQuery, ids: Family, late: Late, own: Any, ext: Any,
              offset: int, scope: Any = None) -> list[int]:
    """The assessment ids of one page, in order, from the narrowest query that answers it."""
    levels = bool(query.level1 or query.level2)
    if scope is not None and _leveled(query):
        # A few thousand scored schools at most match a level: read them from the level index, sort those.
        stmt = _from_results(query, ids, late, scope)
        sup = aliased(Unit, name="sup")
        if query.sort == "bureau":
            stmt = stmt.outerjoin(sup, col(sup.id) == col(Unit.supervisor_id))
        return list(session.execute(stmt.order_by(*_order(query, R, R, sup)).offset(offset)
                                    .limit(query.per_page)).scalars())
    if scope is not None and query.sort in SCORE_SORTS and not (query.stage or query.late):
        # Scored schools first, walked along the score index; the unscored ones after, by id.
        column = getattr(R, SCORE_SORTS[query.sort])
        scored = session.execute(select(func.count()).select_from(
            _from_results(query, ids, late, scope, column.is_not(None), counting=True).subquery())).scalar_one()
        out: list[int] = []
        if offset < scored:
            order = [column.desc(), col(R.assessment_id).desc()] if query.desc else [column.asc(), col(R.assessment_id).asc()]
            out = list(session.execute(_from_results(query, ids, late, scope, column.is_not(None))
                                       .order_by(*order).offset(offset).limit(query.per_page)).scalars())
        if len(out) < query.per_page:
            rest = _with_scores(select(Assessment.id).select_from(Assessment))
            if _unit_where(query):
                rest = rest.join(Unit, col(Unit.id) == col(Assessment.school_id))
            rest = rest.where(*_where(query, ids, late, R, R), *_unit_where(query), column.is_(None))
            order = col(Assessment.id).desc() if query.desc else col(Assessment.id).asc()
            out += list(session.execute(rest.order_by(order).offset(max(0, offset - scored))
                                        .limit(query.per_page - len(out))).scalars())
        return out
    if query.sort in ("code", "name"):
        return _by_unit(session, query, ids, late, own, ext, offset, levels)
    if scope is not None and query.sort in ASSESSMENT_SORTS and not isinstance(ids, list) and not levels:
        return _walk_assessment_index(session, query, ids, late, offset)
    sup = aliased(Unit, name="sup")
    stmt = select(Assessment.id).select_from(Assessment)
    unit_where = _unit_where(query)
    if unit_where or query.sort == "bureau":
        stmt = stmt.join(Unit, col(Unit.id) == Assessment.school_id)
    if query.sort == "bureau":
        stmt = stmt.outerjoin(sup, col(sup.id) == Unit.supervisor_id)
    if levels or query.sort in ("self1", "self2", "ext1", "ext2"):
        stmt = _with_scores(stmt, own, ext)
    stmt = stmt.where(*_where(query, ids, late, own, ext), *unit_where)
    return list(session.execute(stmt.order_by(*_order(query, own, ext, sup)).offset(offset)
                                .limit(query.per_page)).scalars())


def _by_unit(session: Session, query: ListQuery, ids: Family, late: Late, own: Any, ext: Any, offset: int,
             levels: bool) -> list[int]:
    """A page sorted by code or name: the units in that order, then their assessments."""
    # Walk the unit index in the asked order and stop after the page: page 1 of 54,000 schools
    # reads 50 units, not 54,000 rows sorted.
    inner = select(Assessment.id).select_from(Assessment)
    if levels:
        inner = _with_scores(inner, own, ext)
    inner = inner.where(Assessment.school_id == Unit.id, *_where(query, ids, late, own, ext, hinted=True))
    # Names in Vietnamese order (COLLATE vi): no index of the database holds that order, so the
    # database sorts the matching units; codes still walk their index.
    column = col(Unit.code) if query.sort == "code" else vi_order(Unit.name)
    by_unit: list[Any] = [column.desc(), col(Unit.id).desc()] if query.desc else [column.asc(), col(Unit.id).asc()]
    # With a search on SQLite, the family's schools drive (rowid IN …): its fold is a Python
    # function, run then on their names only, not on every unit of the country. PostgreSQL folds
    # in SQL and walks its name index, as without a search.
    family: Any = inner.exists()
    if query.q and not sorts_natively(session):
        members = select(Assessment.school_id).select_from(Assessment)
        if levels:
            members = _with_scores(members, own, ext)
        family = col(Unit.id).in_(members.where(*_where(query, ids, late, own, ext)))
    units = list(session.execute(select(Unit.id).where(family, *_unit_where(query))
                                 .order_by(*by_unit).offset(offset).limit(query.per_page)).scalars())
    if not units:
        return []
    # `campaign_id + 0`: the page's 50 schools reached by their own index, not the family's campaigns.
    by_school = dict(session.execute(select(Assessment.school_id, Assessment.id).where(
        col(Assessment.school_id).in_(units), (col(Assessment.campaign_id) + 0).in_(ids))).all())
    return [by_school[u] for u in units if u in by_school]


ASSESSMENT_SORTS: dict[str, Any] = {"submitted": Assessment.proposed_at}  # sends: a handful of values, sorted fast enough


def _walk_assessment_index(session: Session, query: ListQuery, ids: Family, late: Late,
                           offset: int) -> list[int]:
    """A province sorted by send date: the rows with a value walked along the column's index
    (the family compared as `campaign_id + 0`, so the database does not start from the campaigns),
    then the rows without one, by id."""
    column = ASSESSMENT_SORTS[query.sort]
    unit_where = _unit_where(query)

    def base(*extra: Any) -> SelectOfScalar[int]:
        stmt = select(Assessment.id).select_from(Assessment)
        if unit_where:
            stmt = stmt.join(Unit, col(Unit.id) == Assessment.school_id)
        return stmt.where(*_where(query, ids, late, R, R, hinted=True), *unit_where, *extra)

    valued = session.execute(select(func.count()).select_from(base(column.is_not(None)).subquery())).scalar_one()
    out: list[int] = []
    if offset < valued:
        order = [column.desc(), col(Assessment.id).desc()] if query.desc else [column.asc(), col(Assessment.id).asc()]
        out = list(session.execute(base(column.is_not(None)).order_by(*order).offset(offset)
                                   .limit(query.per_page)).scalars())
    if len(out) < query.per_page:
        order = col(Assessment.id).desc() if query.desc else col(Assessment.id).asc()
        out += list(session.execute(base(column.is_(None)).order_by(order).offset(max(0, offset - valued))
                                    .limit(query.per_page - len(out))).scalars())
    return out


def school_list(session: Session, campaign_id: int, query: ListQuery, *, now: datetime | None = None,
                with_options: bool = True) -> SchoolListPage:
    """One page of the campaign's schools as `query` asks, with the total that matched: a count,
    the page's ids by the narrowest query, then the page's 50 rows with every column."""
    now = _now(now)
    _campaign_ids(session, campaign_id, listed=False)
    several = session.execute(select(Campaign.id).where(Campaign.parent_id == campaign_id).limit(1)).first()
    ids: Family = family_select(campaign_id) if several else [campaign_id]
    # Lateness as SQL when filtering by it; the page's campaigns' deadlines for its lines, below.
    late: Late = passed_ranks(campaign_id, now) if query.late else {}
    own, ext = _scores()
    scope = _scope(session, campaign_id)
    unit_where = _unit_where(query)
    if _leveled(query):
        count = select(func.count()).select_from(_from_results(query, ids, late, scope, counting=True).subquery())
    else:
        count = select(func.count()).select_from(Assessment)
        if query.level1 or query.level2:
            count = _with_scores(count, own, ext)
        if unit_where:
            count = count.join(Unit, col(Unit.id) == Assessment.school_id)
        count = count.where(*_where(query, ids, late, own, ext), *unit_where)
    total = session.execute(count).scalar_one()
    pages = max(1, -(-total // query.per_page))
    page = min(query.page, pages)
    page_ids = _page_ids(session, query, ids, late, own, ext, (page - 1) * query.per_page, scope)
    sup = aliased(Unit, name="sup")
    stmt = _with_scores(select(*_columns(own, ext, sup)).select_from(Assessment)
                        .join(Unit, col(Unit.id) == Assessment.school_id).outerjoin(sup, col(sup.id) == Unit.supervisor_id),
                        own, ext).where(col(Assessment.id).in_(page_ids))
    found = {r[0]: r for r in session.execute(stmt)}
    lines = late_stages(session, sorted({r[-1] for r in found.values()}), now, root=campaign_id) if found else {}
    rows = [_line(found[aid], lines, now) for aid in page_ids if aid in found]
    result = SchoolListPage(campaign_id, replace(query, page=page), rows, total, pages)
    if with_options:
        result.bureaus, result.school_levels = bureau_choices(session, ids), school_levels()
    return result


def iter_school_lines(session: Session, campaign_id: int, query: ListQuery, *,
                      now: datetime | None = None) -> Iterator[SchoolLine]:
    """Every school that matches, in the list's order, streamed (the Excel export of a whole province)."""
    now = _now(now)
    ids = _campaign_ids(session, campaign_id)
    late = late_stages(session, ids, now)
    own, ext = _scores()
    sup = aliased(Unit, name="sup")
    stmt = (_filtered(query, ids, late, own, ext, sup)
            .add_columns(*_columns(own, ext, sup)).order_by(*_order(query, own, ext, sup)))
    for row in session.execute(stmt.execution_options(yield_per=2000)):
        yield _line(row, late, now)


def bureau_choices(session: Session, ids: Family) -> list[tuple[int, str]]:
    """The units that supervise the campaign's schools: its issuer and the issuers of its children."""
    return sorted([(uid, name) for uid, name in session.execute(
        select(Unit.id, col(Unit.name)).join(Campaign, col(Campaign.issuer_id) == Unit.id)
        .where(col(Campaign.id).in_(ids)).distinct()).all()], key=lambda r: vi_key(r[1]))


def school_levels() -> list[tuple[str, str]]:
    return [(lv.value, lv.label) for lv in EducationLevel]


# --- the province view ---------------------------------------------------------------------------


@dataclass
class AreaLine:
    unit_id: int | None
    name: str
    total: int
    submitted: int
    late: int
    levels1: tuple[int, ...]  # 4: schools with no level, level 1, 2, 3 (the level that counts), group 1
    levels2: tuple[int, ...]


@dataclass
class ProvinceView:
    campaign_id: int
    title: str
    lines: list[AreaLine]
    total: AreaLine
    computed_at: datetime | None = None  # when the stored figures were computed


def _province_key(session: Session, campaign: Campaign, ids: list[int] | None = None, now: datetime | None = None) -> str:
    """What the stored figures depend on, per family: the campaign's own version and its family's
    counters (`figures_stamp`: every step and score of one of its schools bumps one), read from one
    index. A step in another campaign leaves them standing. Deadlines passing are checked apart
    (`_deadline_window`)."""
    return f"{campaign.version}:{figures_stamp.family_stamp(session, campaign.id)}"


def _deadline_window(session: Session, campaign_id: int, now: datetime) -> str:
    """"last passed|next to pass" among the family's dated milestones at `now`: figures computed at
    `now` stay right while no deadline lies between `now` and the moment they are read."""
    m = CampaignMilestone
    family = col(m.campaign_id).in_(family_select(campaign_id))
    last = session.execute(select(func.max(m.due_at)).where(family, col(m.due_at) < now)).scalar()
    upcoming = session.execute(select(func.min(m.due_at)).where(family, col(m.due_at) >= now)).scalar()
    return f"{last.isoformat() if last else ''}|{upcoming.isoformat() if upcoming else ''}"


def _in_window(window: str, now: datetime) -> bool:
    last, _, upcoming = window.partition("|")
    return ((not last or datetime.fromisoformat(last) < now)
            and (not upcoming or now <= datetime.fromisoformat(upcoming)))


def _compute_province(session: Session, campaign_id: int, now: datetime) -> list[list[Any]]:
    own, ext = _scores()
    one: Callable[[Any], Any] = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    levels: list[Any] = []
    for column in ("group1_level", "group2_level"):
        counted = _counted(own, ext, column)
        levels += [one(_unleveled(column))] + [one(counted == lv) for lv in (1, 2, 3)]
    stmt = _with_scores(select(col(Unit.supervisor_id), func.count(), one(col(Assessment.state).in_(SUBMITTED)),
                               one(late_where(passed_ranks(campaign_id, now))), *levels)
                        .select_from(Assessment).join(Unit, col(Unit.id) == Assessment.school_id), own, ext)
    rows = session.execute(stmt.where(col(Assessment.campaign_id).in_(family_select(campaign_id)))
                           .group_by(col(Unit.supervisor_id))).all()
    return [[r[0], *(int(x or 0) for x in r[1:])] for r in rows]


def province_view(session: Session, campaign_id: int, *, now: datetime | None = None) -> ProvinceView:
    """Per supervising unit (Phòng or ward): submitted x/y, late, schools per level and group.

    One GROUP BY over the campaign's schools, kept in `campaign_figures` with the key of the data it
    came from: every process reads the stored figures until a step or a score of one of the family's
    schools, or a passing deadline, changes the key, then one recomputes and stores them again."""
    now = _now(now)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    payload, computed_at = stored_figures(session, campaign, [campaign_id], "province", now,
                                          lambda: {"rows": _compute_province(session, campaign_id, now)})
    rows = payload["rows"]
    # The wards are the issuers of the family's campaigns: their names by the campaign tree, not by a
    # list of 3,321 ids; a school under another unit (rare) is named by a second lookup.
    names = dict(session.execute(select(Unit.id, Unit.name).join(Campaign, col(Campaign.issuer_id) == Unit.id)
                                 .where(col(Campaign.id).in_(family_select(campaign_id)))).all())
    if missing := [r[0] for r in rows if r[0] and r[0] not in names]:
        names |= dict(session.execute(select(Unit.id, Unit.name).where(col(Unit.id).in_(missing))).all())
    lines = sorted((AreaLine(r[0], names.get(r[0], "Không có đơn vị quản lý"), r[1], r[2], r[3],
                             tuple(r[4:8]), tuple(r[8:12])) for r in rows), key=lambda a: vi_key(a.name))
    sums = [sum(column) for column in zip(*(r[1:12] for r in rows), strict=True)] or [0] * 11  # one pass per column, in C
    total = AreaLine(None, "Toàn bộ", sums[0], sums[1], sums[2], tuple(sums[3:7]), tuple(sums[7:11]))
    return ProvinceView(campaign.id, campaign.title, lines, total, computed_at)


def stored_figures(session: Session, campaign: Campaign, ids: list[int], kind: str, now: datetime,
                   compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], datetime]:
    """(payload, computed at) of `kind` for the campaign: the stored row while its key still matches
    the data, else `compute()` stored under the new key."""
    key = _province_key(session, campaign)
    f = CampaignFigures
    stored = session.execute(select(f.data_key, f.payload, f.computed_at)
                             .where(f.campaign_id == campaign.id, f.kind == kind)).first()
    if stored is not None:
        stored_key, _, window = stored[0].partition("|")
        if stored_key == key and _in_window(window, now):
            return stored[1], stored[2]
    payload = compute()
    _store_figures(session, campaign.id, kind, f"{key}|{_deadline_window(session, campaign.id, now)}", payload, now)
    return payload, now


def _store_figures(session: Session, campaign_id: int, kind: str, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Replace the stored row in a short transaction of its own (the page's session only reads); two
    processes storing the same figures at once is harmless, so a clash is let go."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    table = CampaignFigures.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    try:
        with cast(Engine, session.get_bind()).begin() as conn:  # the session is bound to the engine
            conn.execute(table.delete().where(table.c.campaign_id == campaign_id, table.c.kind == kind))
            conn.execute(table.insert().values(campaign_id=campaign_id, kind=kind, data_key=key, payload=payload,
                                               computed_at=now))
    except (IntegrityError, OperationalError) as err:  # another process stored them, or the database is busy
        logging.getLogger(__name__).warning("Chưa lưu được số liệu %s của kế hoạch %s: %s", kind, campaign_id, err)


# --- the dashboard's figures, kept like the province view's ----------------------------------------


def _mv(m: MilestoneView | None) -> list[Any] | None:
    return None if m is None else [m.key, m.title, m.stage.value if m.stage else None,
                          cast(datetime, m.due_at).isoformat()]  # kept milestones are dated


def _mv_back(d: list[Any] | None) -> MilestoneView | None:
    if d is None:
        return None
    return MilestoneView(d[0], d[1], Stage(d[2]) if d[2] else None, datetime.fromisoformat(d[3]))


def _status_payload(v: CampaignStatusView, charts: list[LevelChart]) -> dict[str, Any]:
    return {
        "head": [v.campaign_id, v.title, v.issuer_name, v.school_year, v.status.value, v.index_set, v.total,
                 v.submitted, v.late_total],
        "stages": [[x.stage.value, x.count, _mv(x.next_milestone), x.late] for x in v.stages],
        "late": [[x.assessment_id, x.school_code, x.school_name, x.stage.value, _mv(x.milestone)] for x in v.late],
        "children": [list(c) for c in v.children],
        "charts": [[c.phase_label, c.group_name, [list(x) for x in c.counts], c.peak] for c in charts],
    }


def _status_back(d: dict[str, Any]) -> tuple[CampaignStatusView, list[LevelChart]]:
    cid, title, issuer, year, status, index_set, total, submitted, late_total = d["head"]
    view = CampaignStatusView(
        cid, title, issuer, year, CampaignStatus(status), index_set, total, submitted,
        [StageLine(Stage(s), n, _mv_back(m), late) for s, n, m, late in d["stages"]], late_total,
        [LateSchool(a, code, name, Stage(s), cast(MilestoneView, _mv_back(m))) for a, code, name, s, m in d["late"]],
        [tuple(c) for c in d["children"]])
    charts = [LevelChart(p, g, [tuple(x) for x in counts], peak) for p, g, counts, peak in d["charts"]]
    return view, charts


def dashboard_figures(uow: UnitOfWork, campaign_id: int, *, now: datetime | None = None,
                      late_limit: int = 20) -> tuple[CampaignStatusView, list[LevelChart]]:
    """(campaign_svc.CampaignStatusView, overview level charts) of the dashboard, kept in
    `campaign_figures` under the same key as the province view: every process reads the stored
    figures until a step or a score of one of the family's schools, or a passing deadline, changes them."""
    now = _now(now)
    session = uow.session
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    payload, _ = stored_figures(session, campaign, [campaign_id], f"dashboard{late_limit}", now, lambda: _status_payload(
        campaign_status(uow, campaign_id, now=now, late_limit=late_limit), level_charts(session, campaign_id)))
    return _status_back(payload)
