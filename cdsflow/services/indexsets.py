"""Use-cases over index sets: resolve, import, pin, list. They take a Session and never commit:
the caller's unit of work does, so a refused import leaves nothing behind.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from cdsflow.assessment.files import load_index_set_file, shipped_index_sets
from cdsflow.assessment.loader import canonical_json, index_set_from_content
from cdsflow.assessment.model import Change, IndexSet
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.storage.assessment_tables import IndexSetVersion
from cdsflow.storage.tables import Assessment, Campaign

# Parsed sets by content hash: a stored version never changes, so parsing it once is enough.
_parsed: dict[str, IndexSet] = {}


@dataclass(frozen=True)
class IndexSetInfo:
    code: str
    version: str
    title: str
    provisional: bool
    content_hash: str
    origin: str  # "kèm phần mềm" | "đã nhập"
    imported_at: datetime | None = None
    source: str = ""
    changelog: tuple[Change, ...] = ()  # what changed since the versions before (shown on the page)


def _from_row(row: IndexSetVersion) -> IndexSet:
    cached = _parsed.get(row.content_hash)
    if cached is None:
        cached = index_set_from_content(json.loads(row.content), f"CSDL: {row.code} {row.version}")
        if cached.content_hash != row.content_hash:  # tampered or written by an older canonical form
            raise InvalidInput(f"Bộ chỉ số {row.code} phiên bản {row.version} trong CSDL không khớp mã băm đã lưu")
        _parsed[row.content_hash] = cached
    return cached


def resolve_index_set(session: Session, code: str, version: str | None = None) -> IndexSet:
    """The index set to use: the given version, else the latest imported one, else the shipped file."""
    code = str(code).strip()
    stmt = select(IndexSetVersion).where(IndexSetVersion.code == code)
    if version is not None:
        row = session.exec(stmt.where(IndexSetVersion.version == version)).first()
    else:
        row = session.exec(stmt.where(col(IndexSetVersion.pinned).is_(False))
                           .order_by(col(IndexSetVersion.imported_at).desc(), col(IndexSetVersion.id).desc())).first()
    if row is not None:
        return _from_row(row)
    shipped = shipped_index_sets().get(code)
    if shipped is not None and (version is None or shipped.version == version):
        return shipped
    known = ", ".join(sorted(shipped_index_sets()))
    if version is not None:
        raise NotFound(f"Không tìm thấy bộ chỉ số {code} phiên bản {version}")
    raise NotFound(f"Không tìm thấy bộ chỉ số {code} (có sẵn: {known})")


def index_set_by_hash(session: Session, content_hash: str) -> IndexSet:
    """The exact version a campaign launched with, whatever was imported since."""
    if content_hash in _parsed:
        return _parsed[content_hash]
    row = session.exec(select(IndexSetVersion).where(IndexSetVersion.content_hash == content_hash)).first()
    if row is not None:
        return _from_row(row)
    for s in shipped_index_sets().values():
        if s.content_hash == content_hash:
            return s
    raise NotFound(f"Không tìm thấy bộ chỉ số có mã băm {content_hash[:12]}…")


def _store(session: Session, s: IndexSet, *, source: str, actor: str, pin: bool = False) -> IndexSetVersion:
    # A version is its label plus its content digest: a shipped set pinned at launch may keep its
    # label across releases (the changelog says what changed); an import must name a new label.
    clash = None if pin else session.exec(
        select(IndexSetVersion).where(IndexSetVersion.code == s.code, IndexSetVersion.version == s.version)
    ).first()
    if clash is not None:
        raise InvalidInput(
            f"Bộ chỉ số {s.code} đã có phiên bản {s.version} với nội dung khác: "
            "đặt số phiên bản mới (version) cho nội dung này"
        )
    row = IndexSetVersion(
        code=s.code, version=s.version, content_hash=s.content_hash, provisional=s.provisional, title=s.title,
        content=canonical_json(s.content), source=source, imported_by=actor, imported_at=datetime.now(UTC), pinned=pin,
    )
    session.add(row)
    session.flush()
    _parsed[s.content_hash] = s
    return row


def import_index_set(session: Session, path: str | Path, *, actor: str = "") -> IndexSet:
    """Validate an XLSX or YAML file and add it as a new version (the same content twice: no-op)."""
    s = load_index_set_file(path)
    existing = session.exec(select(IndexSetVersion).where(IndexSetVersion.content_hash == s.content_hash)).first()
    if existing is not None:
        return _from_row(existing)
    _store(session, s, source=Path(path).name, actor=actor)
    session.commit()
    return s


def pin_index_set(session: Session, s: IndexSet, *, actor: str = "") -> None:
    """Store a (shipped) set's content so its hash still resolves after a later release edits the file.

    A campaign launch should call this with the set it records in `campaign.index_set_hash`.
    """
    exists = session.exec(select(IndexSetVersion.id).where(IndexSetVersion.content_hash == s.content_hash)).first()
    if exists is None:
        _store(session, s, source=s.source, actor=actor, pin=True)


def require_final(s: IndexSet) -> None:
    """Refuse a provisional set (a frame waiting for the official table) for a campaign launch."""
    if s.provisional:
        raise InvalidInput(
            f"Bộ chỉ số {s.label} là bản tạm thời (khung chưa có bảng tiêu chí chính thức): "
            "chưa phát động đợt đánh giá được. Quản trị viên nhập bảng chính thức ở trang «Bộ chỉ số» "
            "(/indexsets: tải mẫu Excel, điền, tải lên, công bố) hoặc bằng `cdsflow indexset import`."
        )


@dataclass(frozen=True)
class CheckedFile:
    """A validated index-set file, before it is published: what it is and what publishing would do."""

    index_set: IndexSet
    known: bool  # the same content is stored already: publishing changes nothing
    clash: bool  # its code and version are taken by other content: publishing is refused

    @property
    def item_count(self) -> int:
        return len(self.index_set.items)


def check_index_set_file(session: Session, path: str | Path) -> CheckedFile:
    """Validate an uploaded XLSX/YAML file (every problem named, by cell for Excel); nothing is stored."""
    s = load_index_set_file(path)
    known = session.exec(select(IndexSetVersion.id).where(IndexSetVersion.content_hash == s.content_hash)).first()
    if known is None:
        shipped = shipped_index_sets().get(s.code)
        known = shipped is not None and shipped.content_hash == s.content_hash or None
    clash = session.exec(select(IndexSetVersion.id).where(
        IndexSetVersion.code == s.code, IndexSetVersion.version == s.version,
        IndexSetVersion.content_hash != s.content_hash)).first()
    shipped = shipped_index_sets().get(s.code)
    shipped_clash = shipped is not None and shipped.version == s.version and shipped.content_hash != s.content_hash
    return CheckedFile(s, known is not None, clash is not None or shipped_clash)


def publish_index_set(session: Session, path: str | Path, *, actor: str, source: str = "") -> IndexSet:
    """Validate the file and store it as a new version (what `cdsflow indexset import` does).

    A version number already used by a shipped set with other content is refused too: a campaign
    naming that version must find one content only."""
    checked = check_index_set_file(session, path)
    s = checked.index_set
    if checked.known:
        return import_index_set(session, path, actor=actor)
    if checked.clash:
        raise InvalidInput(f"Bộ chỉ số {s.code} đã có phiên bản {s.version} với nội dung khác: "
                           "đặt số phiên bản mới (ô «Phiên bản» của trang «Thông tin») cho nội dung này")
    _store(session, s, source=source or Path(path).name, actor=actor)
    session.commit()
    return s


def list_index_sets(session: Session) -> list[IndexSetInfo]:
    """Every version known: shipped files and imported versions, by code then import time."""
    out = [
        IndexSetInfo(s.code, s.version, s.title, s.provisional, s.content_hash, "kèm phần mềm", None, s.source,
                     s.changelog)
        for s in shipped_index_sets().values()
    ]
    rows = session.exec(select(IndexSetVersion).order_by(IndexSetVersion.code, col(IndexSetVersion.imported_at))).all()
    shipped_hashes = {i.content_hash for i in out}
    for r in rows:
        if r.content_hash in shipped_hashes:
            continue
        out.append(IndexSetInfo(r.code, r.version, r.title, r.provisional, r.content_hash, "đã nhập", r.imported_at,
                                r.source, _from_row(r).changelog))
    return sorted(out, key=lambda i: (i.code, i.imported_at is not None, i.imported_at or datetime.min.replace(tzinfo=UTC)))


def index_set_for_assessment(session: Session, assessment_id: int) -> IndexSet:
    """The version the assessment's campaign launched with (its hash), else the campaign's code."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    campaign = session.get(Campaign, assessment.campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy đợt đánh giá của hồ sơ số {assessment_id}")
    if campaign.index_set_hash:
        return index_set_by_hash(session, campaign.index_set_hash)
    return resolve_index_set(session, campaign.index_set_code, campaign.index_set_version or None)
