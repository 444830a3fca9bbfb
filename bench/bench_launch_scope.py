"""Who a launch covers over 54,000 schools: `launch_scope` (covered + left out with reasons, one
query for schools already in another campaign of the year) against the launch's former bare filter
(the unit tree and `assessed_by`), in the same run. Run: .venv/bin/python bench/bench_launch_scope.py [N]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.national import national_db  # noqa: E402
from cdsflow.services.indexsets import resolve_index_set  # noqa: E402
from cdsflow.services.launch_scope import describe_scope, launch_scope  # noqa: E402
from cdsflow.services.units import descendants, get_unit  # noqa: E402
from cdsflow.storage.db import UnitOfWork  # noqa: E402
from cdsflow.workflow.scope import assessed_by  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 54_000


def median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = national_db(Path(tmp) / "n.db", N)
        with UnitOfWork(engine) as uow:
            issuer = get_unit(uow, "SGD")
            s = resolve_index_set(uow.session, "4725")
            baseline = median_ms(lambda: {u: b for u, b, k, lv in descendants(uow, issuer.id) if assessed_by(s, k, lv)})
            scoped = median_ms(lambda: launch_scope(uow, issuer, s, "2025-2026"))
            scope = launch_scope(uow, issuer, s, "2025-2026")
            preview = median_ms(lambda: describe_scope(uow, scope))
        engine.dispose()
    print(f"schools: {N:,}")
    print(f"bare filter (former launch) : {baseline:8.1f} ms median of 5")
    print(f"launch_scope                : {scoped:8.1f} ms median of 5  ({scoped / baseline:.2f} × the bare filter)")
    print(f"describe_scope (preview)    : {preview:8.1f} ms median of 5")


if __name__ == "__main__":
    main()
