"""Database errors said in Vietnamese: which rule (constraint) was broken and with which value.

Used by the CLI and the web app when a database refusal reaches them (a race the use-case
did not foresee, a value longer than its column): the user reads what clashed, not
"Lỗi cơ sở dữ liệu (IntegrityError)".
"""
from __future__ import annotations

import re

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from cdsflow.kernel.errors import StorageBadValue, StorageConflict, StorageError, StorageUnavailable

# What an entry point catches when the database refuses, named here so that app/ need not import
# SQLAlchemy itself.
DatabaseError = DBAPIError

# Named constraints a person can meet, in words (the rest are named by table and column).
CONSTRAINTS = {
    "uq_campaign_issuer_year_set_open": "mỗi đơn vị chỉ có một kế hoạch đang mở cho một năm học và một bộ chỉ số",
    "web_account_username_key": "tên đăng nhập đã có",
    "unit_code_key": "mã đơn vị đã có",
}
# SQLite names the columns, not the constraint: the same rules by their column sets.
RULES_BY_COLUMNS = {
    frozenset({"campaign.issuer_id", "campaign.school_year", "campaign.index_set_code"}):
        CONSTRAINTS["uq_campaign_issuer_year_set_open"],
}
COLUMNS = {"username": "tên đăng nhập", "code": "mã", "school_year": "năm học", "index_set_code": "bộ chỉ số",
           "issuer_id": "đơn vị phát động", "number": "số văn bản", "key": "khóa"}

_PG_KEY = re.compile(r"Key \((?P<cols>[^)]*)\)=\((?P<vals>.*)\) (?P<what>already exists|is not present)")
_SQLITE = re.compile(r"(?P<kind>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (?P<cols>.*))?")
_LENGTH = re.compile(r"character varying\((\d+)\)")


def _cols(text: str) -> str:
    names = [c.strip().split(".")[-1] for c in text.split(",") if c.strip()]
    return ", ".join(COLUMNS.get(n, n) for n in names)


def describe(err: DBAPIError) -> str:
    """One Vietnamese sentence for a database refusal, naming the rule and the value when known."""
    orig = err.orig
    text = str(orig)
    diag = getattr(orig, "diag", None)  # psycopg
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    rule = CONSTRAINTS.get(constraint or "")
    if isinstance(err, IntegrityError):
        return _integrity(text, diag, constraint, rule)
    if isinstance(err, DataError):
        if m := _LENGTH.search(text):
            return f"Giá trị quá dài (tối đa {m.group(1)} ký tự)."
        if "out of range" in text:
            return "Số quá lớn so với cơ sở dữ liệu."
        return "Giá trị không hợp lệ với cơ sở dữ liệu."
    lowered = text.lower()
    if "no such table" in lowered or "does not exist" in lowered or "no such column" in lowered:
        return "Cơ sở dữ liệu chưa được khởi tạo hoặc còn ở phiên bản cũ: hãy chạy «cdsflow init»."
    if "could not connect" in lowered or "connection refused" in lowered or "unable to open" in lowered:
        return "Không kết nối được cơ sở dữ liệu: kiểm tra DATABASE_URL."
    if "locked" in lowered:
        return "Cơ sở dữ liệu đang bận (đang có thao tác khác ghi dữ liệu): hãy thử lại sau giây lát."
    return f"Lỗi cơ sở dữ liệu ({type(orig).__name__}); đặt CDSFLOW_DEBUG=1 để xem chi tiết."


def _integrity(text: str, diag: object, constraint: str | None, rule: str | None) -> str:
    """A broken key, uniqueness or NOT NULL rule, from PostgreSQL's detail or SQLite's message."""
    if m := _PG_KEY.search(getattr(diag, "message_detail", None) or text):
        cols, vals = _cols(m.group("cols")), m.group("vals")
        if m.group("what") == "is not present":
            return f"Dữ liệu tham chiếu tới {cols} = «{vals}» không tồn tại."
        return f"Dữ liệu trùng: {cols} = «{vals}» đã có" + (f" ({rule})." if rule else ".")
    if m := _SQLITE.search(text):
        kind, cols = m.group("kind"), _cols(m.group("cols") or "")
        if kind == "UNIQUE":
            named = frozenset(c.strip() for c in (m.group("cols") or "").split(","))
            rule = rule or RULES_BY_COLUMNS.get(named)
            return f"Dữ liệu trùng ({cols or 'khóa duy nhất'})" + (f": {rule}." if rule else ".")
        if kind == "NOT NULL":
            return f"Thiếu giá trị bắt buộc: {cols}."
        if kind == "FOREIGN KEY":
            return "Dữ liệu tham chiếu tới một bản ghi không tồn tại (hoặc đang được dùng ở nơi khác)."
        return f"Giá trị không thỏa điều kiện của cơ sở dữ liệu ({cols})."
    if rule:
        return f"Dữ liệu vi phạm quy tắc: {rule}."
    column = getattr(diag, "column_name", None) if diag is not None else None
    if column:
        return f"Thiếu giá trị bắt buộc: {COLUMNS.get(column, column)}."
    return f"Dữ liệu vi phạm ràng buộc {constraint or ''} của cơ sở dữ liệu.".replace("  ", " ")


def status(err: DBAPIError) -> int:
    """HTTP status for the web: 409 clash, 422 bad value, 503 busy or unreachable, 500 otherwise."""
    if isinstance(err, IntegrityError):
        return 409
    if isinstance(err, DataError):
        return 422
    lowered = str(err.orig).lower()
    if "locked" in lowered or "could not connect" in lowered or "connection refused" in lowered:
        return 503
    return 500


def translate(err: DBAPIError) -> StorageError:
    """The driver's error as the kernel's: the doors map these to an exit code or an HTTP status
    without knowing the database library (the original stays chained as __cause__)."""
    kind = {409: StorageConflict, 422: StorageBadValue, 503: StorageUnavailable}.get(status(err), StorageError)
    return kind(describe(err))
