"""Where cdsflow keeps its data: one folder, the home, for every process wherever it is started.

`CDSFLOW_HOME` names it; unset, it is `var/` of the source checkout when ./run.sh has put a
database there, else the platform's user data folder (~/.local/share/cdsflow on Linux). `./run.sh`
exports `var/` of the checkout. Under it: the SQLite database, uploads, generated
papers (and mail attachments), logs, and room for a PDF cache. Paths stored in the database are relative to
the home, so a web process and a worker started from different folders read the same files.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV = "CDSFLOW_HOME"
APP_NAME = "cdsflow"


# The source checkout this package runs from, when installed editable (as ./run.sh installs it).
CHECKOUT = Path(__file__).resolve().parents[2]


def checkout_home() -> Path | None:
    """`var/` of the checkout when it holds a database: the home ./run.sh made. Found by itself, so
    `.venv/bin/cdsflow mail list` after ./run.sh reads the same data without CDSFLOW_HOME."""
    var = CHECKOUT / "var"
    if (CHECKOUT / "run.sh").is_file() and (var / "cdsflow.db").is_file():
        return var
    return None


def home() -> Path:
    """The data home (created on first use), absolute: CDSFLOW_HOME, else the checkout's var/ that
    ./run.sh filled, else the platform's user data folder."""
    raw = os.environ.get(ENV, "").strip()
    if raw:
        path = Path(raw).expanduser()
    elif (found := checkout_home()) is not None:
        path = found
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
