"""Where cdsflow keeps its data: one folder, the home, for every process wherever it is started.

`CDSFLOW_HOME` names it; unset, it is the platform's user data folder (~/.local/share/cdsflow on
Linux). `./run.sh` exports `var/` of the checkout. Under it: the SQLite database, uploads, generated
papers (and mail attachments), logs, and room for a PDF cache. Paths stored in the database are relative to
the home, so a web process and a worker started from different folders read the same files.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV = "CDSFLOW_HOME"
APP_NAME = "cdsflow"


def home() -> Path:
    """The data home (created on first use), absolute."""
    raw = os.environ.get(ENV, "").strip()
    if raw:
        path = Path(raw).expanduser()
    else:
        from platformdirs import user_data_path

        path = user_data_path(APP_NAME, appauthor=False)
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sub(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_file() -> Path:
    return home() / "cdsflow.db"


def uploads_dir() -> Path:
    return _sub("uploads")


def papers_dir() -> Path:
    """Generated papers kept for later (e.g. the recognition decision attached to mail)."""
    return _sub("papers")


def pdf_cache_dir() -> Path:
    return _sub("pdf-cache")


def logs_dir() -> Path:
    return _sub("logs")


# What a backup carries besides the database (the PDF cache can be rebuilt; logs are the host's).
BACKED_UP = ("uploads", "papers")


def to_stored(path: str | Path) -> str:
    """A path as written to the database: relative to the home when inside it, else absolute."""
    p = Path(path).resolve()
    try:
        return p.relative_to(home()).as_posix()
    except ValueError:
        return str(p)


def from_stored(stored: str | Path) -> Path:
    """The file a stored path names, resolved against this process's home."""
    p = Path(stored)
    return p if p.is_absolute() else home() / p
