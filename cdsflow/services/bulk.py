"""Long steps in short chunks: no bulk step stops the world.

A bulk step (a campaign's school accounts for a province or the country, …) used to be one
transaction: on SQLite it held the write lock for the whole run and every web write behind it
waited past busy_timeout (503). Here it is a `BulkRun`: the items are done in chunks sized to
about CHUNK_SECONDS of work, each chunk commits its work together with one `BulkItem` line per
item and the run's progress, then (on SQLite) pauses PAUSE_SECONDS so a waiting writer gets the
lock. So:

- another writer waits at most about one chunk (well under a second);
- a crash loses at most the chunk in flight; the next run of the same step resumes the run,
  skipping the items it already holds (each chunk is one transaction: an item is done wholly or
  not at all, so nothing is done twice or lost);
- the run's row is the progress the CLI's bar and the web's page show, and its items are the
  details (one line per item, a workbook) behind a short summary.
"""
from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import insert, update
from sqlmodel import col, select

from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.storage.bulk_tables import BulkItem, BulkRun
from cdsflow.storage.db import UnitOfWork

T = TypeVar("T")

# Work per chunk, write lock held: short enough that a web write behind it waits well under 1 s
# (a chunk, plus at most one of its busy handler's sleeps), long enough that the pauses cost
# about a third of the work.
CHUNK_SECONDS = 0.3
# Between chunks on SQLite. SQLite's busy handler retries a waiting writer at most 100 ms apart,
# so a gap longer than that always holds one of its tries: back-to-back chunks would starve it.
PAUSE_SECONDS = 0.11
FIRST_CHUNK = 20  # items in the first chunk, before the cost of one item is known
MAX_CHUNK = 5000
# A running run whose last chunk is older than this, or whose process on this machine is gone,
# has stopped and may be resumed by anyone.
STALE_AFTER = timedelta(minutes=2)

RUNNING, DONE, FAILED = "running", "done", "failed"
STATUS_LABELS = {RUNNING: "đang chạy", DONE: "đã xong", FAILED: "dừng vì lỗi"}

# Tests set this to fail a run after chunk k (a crash mid-run): called with the chunk's number
# (1, 2, …) after it committed.
after_chunk: Callable[[int], None] | None = None

Progress = Callable[[int, int], None]  # (items done, items in all)

_active: set[int] = set()  # runs being worked on in this process (the web runs them in a thread)


@dataclass
class ItemResult:
    """One item's line in the details: its key (unique in the run), name, outcome, detail,
    and what it adds to the run's figures."""

    key: str
    name: str
    outcome: str
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Chunked(Generic[T]):
    """The items still to do (in order) of a started or resumed run."""

    run: BulkRun
    todo: list[T]
    resumed: int  # items a previous attempt of the run already committed


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(owner: str) -> bool:
    """True when the owner is a process of this machine that no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def unfinished_run(uow: UnitOfWork, kind: str, subject: str) -> BulkRun | None:
    return uow.session.execute(
        select(BulkRun).where(BulkRun.kind == kind, BulkRun.subject == subject,
                              col(BulkRun.status).in_([RUNNING, FAILED])).order_by(col(BulkRun.id).desc())
    ).scalars().first()


def start(uow: UnitOfWork, kind: str, subject: str, title: str, items: Sequence[T], key: Callable[[T], str], *,
          by: str = "", now: datetime | None = None) -> Chunked[T]:
    """Start a run over `items`, or resume the unfinished run of the same step (`kind` over
    `subject`): the items it already committed are left out. Refused while that run is alive
    in another process. Commits the run's row (so progress is visible at once)."""
    now = now or datetime.now(UTC)
    run = unfinished_run(uow, kind, subject)
    done: set[str] = set()
    if run is not None:
        if alive(run, now):
            raise InvalidInput(
                f"«{run.title}» đang được chạy (lần chạy số {run.id}, đã xong {run.done}/{run.total}): "
                "chờ lần chạy đó xong rồi xem kết quả",
                details=[f"Nếu tiến trình đó đã dừng, chạy lại sau {int(STALE_AFTER.total_seconds() // 60)} phút "
                         "để tiếp tục từ chỗ đã dừng."])
        done = set(uow.session.execute(select(BulkItem.key).where(BulkItem.run_id == run.id)).scalars())
        run.status, run.beat_at, run.error, run.owner = RUNNING, now, "", _owner()
        # Items a step's own state says are done (the launch's opened files) are left out by the caller.
        run.total = run.done + sum(1 for i in items if key(i) not in done)
    else:
        run = BulkRun(kind=kind, subject=subject, title=title[:300], total=len(items), started_by=by[:64],
                      started_at=now, beat_at=now, owner=_owner())
    uow.session.add(run)
    uow.commit()
    return Chunked(run, [i for i in items if key(i) not in done], run.done)


def _stale(run: BulkRun, now: datetime) -> bool:
    return run.id not in _active and (now - run.beat_at > STALE_AFTER or _gone(run.owner))


def alive(run: BulkRun, now: datetime | None = None) -> bool:
    """A run being worked on now, here or by a live process elsewhere."""
    return run.id in _active or (run.status == RUNNING and run.owner != _owner()
                                 and not _stale(run, now or datetime.now(UTC)))


def run_chunks(uow: UnitOfWork, job: Chunked[T], work: Callable[[UnitOfWork, list[T]], list[ItemResult]], *,
               progress: Progress | None = None, first_chunk: int | None = None,
               finish: Callable[[UnitOfWork], None] | None = None) -> BulkRun:
    """Do `work` over the job's items chunk by chunk, one commit each with the items' lines and
    the run's progress; pause between chunks on SQLite. `work` writes in the caller's
    transaction and commits nothing. On an error the chunk is rolled back, the run marked
    failed with the reason, and the error raised: running the step again resumes it. `work` may
    return no lines (a step whose own tables say what is done). `finish` writes in the last
    transaction, the one that marks the run done (the launch makes its campaigns visible there)."""
    run, items = job.run, job.todo
    run_id = run.id
    sqlite = uow.engine.dialect.name == "sqlite"
    size, start_at, number = first_chunk or FIRST_CHUNK, 0, 0
    counts = Counter(json.loads(run.counts or "{}"))
    if progress:
        progress(run.done, run.total)
    _active.add(run_id)
    try:
        while start_at < len(items):
            # The chunk in quarters, stopping at CHUNK_SECONDS: a machine slower than the last chunk
            # measured (another process took the CPU) holds the lock for one quarter more, not for
            # the whole chunk.
            began = time.perf_counter()
            part: list[T] = []
            results: list[ItemResult] = []
            step = max(1, size // 4)
            while len(part) < size and start_at + len(part) < len(items):
                piece = items[start_at + len(part):start_at + min(size, len(part) + step)]
                results += work(uow, piece)
                part += piece
                if time.perf_counter() - began >= CHUNK_SECONDS:
                    break
            seq = run.done
            if results:
                uow.session.execute(insert(BulkItem), [
                    {"run_id": run.id, "seq": seq + n, "key": r.key[:120], "name": r.name[:300],
                     "outcome": r.outcome, "detail": r.detail[:2000]} for n, r in enumerate(results)])
            for r in results:
                counts.update(r.counts)
            run.done += len(part)
            run.counts = json.dumps(dict(counts), sort_keys=True)
            run.beat_at = datetime.now(UTC)
            uow.session.execute(update(BulkRun).where(col(BulkRun.id) == run.id)
                                .values(done=run.done, counts=run.counts, beat_at=run.beat_at))
            uow.commit()
            elapsed = time.perf_counter() - began
            number += 1
            start_at += len(part)
            if after_chunk is not None:
                after_chunk(number)
            if progress:
                progress(run.done, run.total)
            # The next chunk sized to CHUNK_SECONDS at the pace just measured (at most four times
            # this one: one fast chunk does not make a huge one).
            per_item = elapsed / max(len(part), 1)
            size = max(1, min(MAX_CHUNK, 4 * len(part), int(CHUNK_SECONDS / per_item) if per_item else MAX_CHUNK))
            if sqlite and start_at < len(items):
                time.sleep(PAUSE_SECONDS)
        if finish is not None:
            finish(uow)
        run.status, run.finished_at = DONE, datetime.now(UTC)
        uow.session.execute(update(BulkRun).where(col(BulkRun.id) == run.id)
                            .values(status=DONE, finished_at=run.finished_at))
        uow.commit()
    except BaseException as err:
        reason = getattr(err, "message", None) or f"{type(err).__name__}: {err}"
        try:
            uow.rollback()
            uow.session.execute(update(BulkRun).where(col(BulkRun.id) == run_id)
                                .values(status=FAILED, error=str(reason)[:2000], beat_at=datetime.now(UTC)))
            uow.commit()
        except Exception:  # the database itself failed: the first error is the one to tell; the run
            pass  # stays "running" and is resumed once its process is gone
        raise
    finally:
        _active.discard(run_id)
    return run


# --- reading a run: the progress page, the summary, the details -----------------------------------------


def get_run(uow: UnitOfWork, run_id: int, kind: str | None = None) -> BulkRun:
    run = uow.session.get(BulkRun, run_id)
    if run is None or (kind is not None and run.kind != kind):
        raise NotFound(f"Không tìm thấy lần chạy hàng loạt số {run_id}")
    return run


def counts_of(run: BulkRun) -> dict[str, int]:
    return dict(json.loads(run.counts or "{}"))


def stopped(run: BulkRun, now: datetime | None = None) -> bool:
    """A run marked running whose process is gone: it waits for someone to run the step again."""
    return run.status == RUNNING and _stale(run, now or datetime.now(UTC))


def first_items(uow: UnitOfWork, run_id: int, outcome: str, limit: int) -> list[BulkItem]:
    """The first `limit` items of one outcome, in the run's order (a summary names a few)."""
    return list(uow.session.execute(select(BulkItem).where(BulkItem.run_id == run_id, BulkItem.outcome == outcome)
                                    .order_by(col(BulkItem.seq)).limit(limit)).scalars())


def heading(run: BulkRun) -> str:
    return (f"{run.title} — lần chạy số {run.id}, {STATUS_LABELS.get(run.status, run.status)}, "
            f"đã xong {run.done}/{run.total}")


def details_rows(uow: UnitOfWork, run_id: int, labels: dict[str, str]) -> Iterator[tuple[int, str, str, str, str]]:
    """The run's details: (n, key, name, outcome in words, detail), one per item in the run's order."""
    rows = uow.session.execute(select(BulkItem.key, BulkItem.name, BulkItem.outcome, BulkItem.detail)
                               .where(BulkItem.run_id == run_id).order_by(col(BulkItem.seq)))
    for n, (key, name, outcome, detail) in enumerate(rows, start=1):
        yield n, key, name, labels.get(outcome, outcome), detail
