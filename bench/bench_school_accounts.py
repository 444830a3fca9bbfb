"""Accounts for every school of a campaign in one step, against the way before it.

Project: `create_school_accounts` (two accounts per school, no password hashed — each owner
sets one through a mailed link — and one set-password mail queued per account). Baseline, in
the same run: one `create_account` per account with a password (argon2 at its default cost,
what an administrator typing accounts one by one amounted to), timed on a sample and scaled.
Run: .venv/bin/python bench/bench_school_accounts.py [SCHOOLS]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, update  # noqa: E402

from bench.national import national_db  # noqa: E402
from cdsflow.app import wiring  # noqa: E402
from cdsflow.services.accounts import create_account  # noqa: E402
from cdsflow.services.campaigns import launch_campaign  # noqa: E402
from cdsflow.services.school_accounts import create_school_accounts  # noqa: E402
from cdsflow.storage.db import UnitOfWork  # noqa: E402
from cdsflow.storage.notifications_tables import OutboxMessage  # noqa: E402
from cdsflow.storage.tables import Campaign, Unit  # noqa: E402
from tests.factories import calendar  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
SAMPLE = 40  # accounts the baseline really creates (argon2 at its default cost: ~0.1 s each)


def main() -> None:
    wiring.install()  # the set-password mails are written by the event's handler, as in the CLI and web
    with tempfile.TemporaryDirectory() as tmp:
        engine = national_db(Path(tmp) / "acc.db", N, bureaus=10)
        with UnitOfWork(engine) as uow:
            uow.session.execute(update(Unit).where(Unit.kind == "school")
                                .values(emails=func.lower(Unit.code) + "@truong.edu.vn"))
            uow.commit()
            launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", index_set="4725", calendar=calendar(),
                            spawn_children=False)
        with UnitOfWork(engine) as uow:
            campaign_id = uow.session.scalar(select(Campaign.id))
        t = time.perf_counter()
        with UnitOfWork(engine) as uow:
            report = create_school_accounts(uow, campaign_id, base_url="http://127.0.0.1:8000")
        project = time.perf_counter() - t
        with UnitOfWork(engine) as uow:
            mails = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
        accounts = len(report.created)

        t = time.perf_counter()
        with UnitOfWork(engine) as uow:
            for i in range(SAMPLE):
                create_account(uow, username=f"base{i}", full_name=f"Hiệu trưởng {i}", role="school_head",
                               password="mat-khau-tam-thoi-2025", unit_code=f"S{i}")
        per_account = (time.perf_counter() - t) / SAMPLE
        baseline = per_account * accounts

    print(f"{N} trường: {accounts} tài khoản, {mails} thư đặt mật khẩu trong hàng đợi")
    print(f"  project  create_school_accounts: {project:8.1f} s ({project / accounts * 1000:.2f} ms/tài khoản)")
    print(f"  baseline create_account+argon2:  {baseline:8.1f} s ({per_account * 1000:.2f} ms/tài khoản, "
          f"đo trên {SAMPLE} tài khoản, chưa kể gõ tay và gửi mật khẩu)")
    print(f"  ratio baseline/project: {baseline / project:.1f}×")


if __name__ == "__main__":
    main()
