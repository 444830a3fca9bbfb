"""The scores papers print, taken from what the assessment area stored (external review first)."""
from __future__ import annotations

from sqlalchemy.orm import object_session

from cdsflow.storage.tables import Assessment


def stored_scores(assessment: Assessment) -> dict:
    """A `ScoreSource`: group results, criteria rows, mandatory conditions and the level to print.

    The external review's scores count once reviewers have entered any; before that, the school's.
    """
    from cdsflow.workflow.services.indexsets import index_set_for_assessment
    from cdsflow.workflow.services.scoring import list_evidence, load_answers, score_assessment

    session = object_session(assessment)
    if session is None:
        return {}
    phase = "external" if load_answers(session, assessment.id, "external") else "self"
    result = score_assessment(session, assessment.id, phase)
    if not any(i.answered for i in result.items.values()):
        return {}
    index_set = index_set_for_assessment(session, assessment.id)
    evidence: dict[str, list[str]] = {}
    for e in list_evidence(session, assessment.id):
        evidence.setdefault(e.criterion_code, []).append(" ".join(x for x in (e.document_number, e.title) if x))
    groups = [{"group_code": g.code, "group_name": g.name, "max_points": g.max_points, "points": g.total,
               "level": g.level} for g in result.groups]
    group_of = {c: g.code for g in index_set.groups for c in (x.code for x in g.criteria)}
    rows = [{"code": code, "group_code": group_of.get(code, ""), "name": crit.label, "max_points": crit.max_points,
             "points": result.criteria.get(code), "evidence": evidence.get(code, []), "note": ""}
            for code, crit in index_set.criteria.items()]
    mandatory = [{"criterion": code, "met": bool(met)} for code, met in result.mandatory.items()]
    level = result.overall_level
    if level is None:  # no merge rule in the index set: print both group levels, as the data says
        level = "; ".join(f"{g.level_name} (nhóm tiêu chí {g.code})" for g in result.groups if g.level)
    return {"group_results": groups, "criteria_rows": rows, "mandatory": mandatory, "level": level}
