"""Backup and restore of one deployment: the database and the files under the data home.

One .tar.gz holds `manifest.json` (what, when, which schema), the database (SQLite through its
online backup API, so a running web app or worker does not have to stop; PostgreSQL through
`pg_dump -Fc`) and the home's uploads and papers. A restore checks everything before it touches
anything, refuses a non-empty target unless told to replace it, and brings the schema to this
release's head afterwards.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from cdsflow import __version__
from cdsflow.kernel import home
from cdsflow.kernel.errors import CdsError, InvalidInput

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"


class BackupError(CdsError):
    exit_code = 7


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    dialect: str
    files: int
    size: int
    schema: list[str]


def backup(engine: Engine, out: Path) -> BackupSummary:
    """Write the database and the home's files to `out` (a .tar.gz); nothing is changed."""
    # Alembic (with Mako and Pygments) costs every CLI command ~0.4 s of start-up: loaded when used.
    from cdsflow.storage.migrate import schema_revisions

    current, _heads = schema_revisions(engine)
    if not current:
        raise InvalidInput("Cơ sở dữ liệu chưa được khởi tạo: không có gì để sao lưu")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    root = home.home()
    with tempfile.TemporaryDirectory(prefix="cdsflow-backup-") as tmp:
        work = Path(tmp)
        if engine.dialect.name == "sqlite":
            member = SQLITE_MEMBER
            _sqlite_copy(_sqlite_file(engine), work / member)
        elif engine.dialect.name == "postgresql":
            member = PG_MEMBER
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={work / member}", _libpq_url(engine)], "pg_dump")
        else:
            raise BackupError(f"Chưa hỗ trợ sao lưu cơ sở dữ liệu {engine.dialect.name}")
        files = [p for sub in home.BACKED_UP for p in sorted((root / sub).rglob("*")) if p.is_file()]
        manifest = {"format": FORMAT, "cdsflow": __version__, "dialect": engine.dialect.name,
                    "schema": sorted(current), "database": member,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "files": [p.relative_to(root).as_posix() for p in files]}
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        partial = out.with_name(out.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / MANIFEST, MANIFEST)
            tar.add(work / member, member)
            for p in files:
                tar.add(p, "home/" + p.relative_to(root).as_posix())
        partial.replace(out)  # never a half-written backup under the real name
    return BackupSummary(out, engine.dialect.name, len(files), out.stat().st_size, sorted(current))


def restore(engine: Engine, archive: Path, *, replace: bool = False) -> dict:
    """Put a backup back into this deployment (database given by `engine`, files under the home)."""
    archive = archive.resolve()
    if not archive.is_file():
        raise InvalidInput(f"Không tìm thấy tệp sao lưu {archive}")
    root = home.home()
    with tempfile.TemporaryDirectory(prefix="cdsflow-restore-") as tmp:
        work = Path(tmp)
        manifest = _unpack(archive, work)
        if manifest["dialect"] != engine.dialect.name:
            raise InvalidInput(
                f"Bản sao lưu là của {manifest['dialect']}, cơ sở dữ liệu đích là {engine.dialect.name}",
                details=["đặt DATABASE_URL trỏ tới loại cơ sở dữ liệu của bản sao lưu"])
        occupied = [s for s in home.BACKED_UP if any((root / s).rglob("*"))]
        if not replace and (_has_data(engine) or occupied):
            raise InvalidInput("Nơi khôi phục đã có dữ liệu: không ghi đè",
                               details=[f"thư mục dữ liệu: {root}", "thêm --replace để thay toàn bộ bằng bản sao lưu"])
        if manifest["dialect"] == "sqlite":
            target = _sqlite_file(engine)
            engine.dispose()
            _sqlite_copy(work / SQLITE_MEMBER, target)
        else:
            _pg_clear(engine)
            _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                  f"--dbname={_libpq_url(engine)}", str(work / PG_MEMBER)], "pg_restore")
        for sub in home.BACKED_UP:
            shutil.rmtree(root / sub, ignore_errors=True)
            src = work / "home" / sub
            if src.is_dir():
                shutil.copytree(src, root / sub)

    from cdsflow.storage.migrate import init_db  # Alembic: see above

    init_db(engine)  # a backup of an older release is brought up to this one's schema
    return manifest


def _unpack(archive: Path, work: Path) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = tar.getnames()
            if MANIFEST not in names:
                raise InvalidInput(f"{archive.name} không phải bản sao lưu cdsflow (thiếu {MANIFEST})")
            tar.extractall(work, filter="data")  # refuses absolute paths, '..' and links out of work
    except (tarfile.TarError, OSError, EOFError) as err:
        raise InvalidInput(f"Không đọc được tệp sao lưu {archive.name}: {err}") from None
    manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"Định dạng sao lưu {manifest.get('format')} không được hỗ trợ (cần {FORMAT})")
    if not (work / manifest["database"]).is_file():
        raise InvalidInput(f"Bản sao lưu thiếu tệp cơ sở dữ liệu {manifest['database']}")
    missing = [f for f in manifest["files"] if not (work / "home" / f).is_file()]
    if missing:
        raise InvalidInput("Bản sao lưu thiếu tệp", details=missing[:10])
    return manifest


def _has_data(engine: Engine) -> bool:
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    with engine.connect() as conn:
        return any(conn.execute(text(f'SELECT 1 FROM "{n}" LIMIT 1')).first() for n in names)


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ: không sao lưu/khôi phục được")
    return Path(database).resolve()


def _sqlite_copy(src: Path, dst: Path) -> None:
    """SQLite's online backup API: a consistent copy even while other processes write."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return str(candidates[-1])  # the newest client reads dumps of every older server
    raise BackupError(f"Không tìm thấy {name} (gói postgresql-client)")


def _pg_clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} thất bại (mã {done.returncode})", details=[done.stderr.strip()[-500:]])
