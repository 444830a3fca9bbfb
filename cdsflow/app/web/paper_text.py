"""The officer's page to write an authority paper's sections before it is numbered: one textarea per
section, filled with the defaults (documents/texts/*.yaml and the stored data); a refusal shows the
reason above the text the officer typed, which is kept. The Kế hoạch and Công văn triển khai
(plan_service) and every paper of documents/paper_sections.PAPERS are written here."""
from __future__ import annotations

from dataclasses import dataclass

from cdsflow.app.web.access import actor, allowed, assessment_for, campaign_for
from cdsflow.documents import paper_sections, sections
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.services import authorization
from cdsflow.services import papers as doc_svc
from cdsflow.services import plan_papers as plan_service
from cdsflow.services.accounts import Principal
from cdsflow.services.campaigns import issued_campaigns
from cdsflow.services.units import unit_by_id
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.workflow.document_types import document_types


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    text: str


def _check(uow: UnitOfWork, p: Principal, campaign_id: int, code: str):
    if not editable(code):
        raise NotFound(f"Văn bản «{code}» không soạn nội dung tại đây")
    if code in paper_sections.PER_SCHOOL:
        raise NotFound(f"Văn bản «{code}» lập cho từng trường: soạn nội dung ở trang văn bản của từng trường")
    campaign = campaign_for(uow, p, campaign_id)
    authorization.check_campaign(uow.session, actor(p), "issue_authority_paper", campaign_id)
    return campaign


def editable(code: str) -> bool:
    return code in plan_service.TEXTS or code in paper_sections.PAPERS


def _labels(code: str) -> list[tuple[str, str]]:
    if code in paper_sections.PAPERS:
        return paper_sections.labels(code)
    return sections.labels(plan_service.TEXTS[code])


def title(code: str) -> str:
    return "Kế hoạch triển khai của đơn vị" if code == "ke_hoach" else document_types()[code].name


def fields(uow: UnitOfWork, p: Principal, campaign_id: int, code: str, typed: dict[str, str] | None = None) -> list[Field]:
    """The sections with the officer's typed text, or the defaults (refused when data is missing)."""
    campaign = _check(uow, p, campaign_id, code)
    if typed is None and code in paper_sections.PAPERS:  # the paper as it would print now
        typed = doc_svc.section_defaults(uow.engine, code, campaign_id)
    elif typed is None:
        typed = plan_service.defaults(uow.session, code, campaign, unit_by_id(uow, campaign.issuer_id))
    return [Field(k, label, typed.get(k, "")) for k, label in _labels(code)]


def typed_sections(code: str, form: dict) -> dict[str, str]:
    return {k: str(form.get(f"section_{k}", "")) for k, _ in _labels(code)}


def issue(uow: UnitOfWork, p: Principal, campaign_id: int, code: str, typed: dict[str, str], *, draft: bool,
          on_existing: str | None, reason: str) -> GeneratedDocument:
    _check(uow, p, campaign_id, code)
    if not draft and not any(typed.values()):
        raise InvalidInput("Nội dung văn bản trống")
    record, _ = doc_svc.generate(uow.engine, code, campaign_id=campaign_id, draft=draft,
                                 data={"sections": typed}, actor=actor(p), on_existing=on_existing, reason=reason)
    return record


def warnings_before_numbering(uow: UnitOfWork, p: Principal, campaign_id: int, code: str, typed: dict[str, str], *,
                              on_existing: str | None, reason: str) -> list[str]:
    """What `docs check` and the register say about the paper as it would be numbered (nothing stored)."""
    _check(uow, p, campaign_id, code)
    return doc_svc.findings_before_numbering(uow.engine, code, campaign_id=campaign_id, data={"sections": typed},
                                             actor=actor(p), on_existing=on_existing, reason=reason)


def replace_marks(uow: UnitOfWork, p: Principal, campaign_id: int, code: str) -> list[str]:
    """The papers citing the one a replacement would replace (they become «Cần xử lý»)."""
    _check(uow, p, campaign_id, code)
    preview = doc_svc.replace_preview(uow.engine, code, campaign_id=campaign_id)
    return preview.marked if preview is not None else []


def campaign_links(uow: UnitOfWork, p: Principal) -> list[tuple[int, str]]:
    """The campaigns whose own papers this person may write (their unit issued them), newest first."""
    if p.unit_id is None or not allowed(p, "issue_authority_paper"):
        return []
    return issued_campaigns(uow, p.unit_id, limit=20)


# --- a school's paper written section by section (the Báo cáo tự đánh giá's IV–VI, the review minutes) ---


def _check_school(uow: UnitOfWork, p: Principal, assessment_id: int, code: str) -> tuple[Assessment, Unit]:
    """The school's file and the school, when this person may issue `code` for it (the rule table:
    the school issues its report, the authority the review minutes)."""
    if code not in paper_sections.PER_SCHOOL:
        raise NotFound(f"Văn bản «{code}» không soạn nội dung theo từng trường")
    a = assessment_for(uow, p, assessment_id)
    if code in doc_svc.SCHOOL_TYPES:
        authorization.check_school(uow.session, actor(p), "issue_school_paper", a)
    else:
        authorization.check_campaign(uow.session, actor(p), "issue_authority_paper", a.campaign_id)
    return a, unit_by_id(uow, a.school_id)


def school_fields(uow: UnitOfWork, p: Principal, assessment_id: int, code: str,
                  typed: dict[str, str] | None = None) -> list[Field]:
    """The sections with what was typed, or as the paper would print them now (the CLI's `docs text`)."""
    a, school = _check_school(uow, p, assessment_id, code)
    if typed is None:
        typed = doc_svc.section_defaults(uow.engine, code, a.campaign_id, school.code)
    return [Field(k, label, typed.get(k, "")) for k, label in _labels(code)]


def school_issue(uow: UnitOfWork, p: Principal, assessment_id: int, code: str, typed: dict[str, str], *,
                 draft: bool, on_existing: str | None, reason: str) -> GeneratedDocument:
    """The same use-case as `cdsflow docs generate CODE --school … --text …`."""
    a, school = _check_school(uow, p, assessment_id, code)
    if not draft and not any(typed.values()):
        raise InvalidInput("Nội dung văn bản trống")
    record, _ = doc_svc.generate(uow.engine, code, school_code=school.code, campaign_id=a.campaign_id, draft=draft,
                                 data={"sections": typed}, actor=actor(p), on_existing=on_existing, reason=reason)
    return record
