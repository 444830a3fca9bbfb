"""Benchmark: score 54,000 schools' answers against 4725 and store answers and results.

Prints schools per second for the project's path (pure scoring, then `score_many`: one DELETE
and one multi-row INSERT per table, one transaction) against the naive path (session.add per
row and a commit per school) in the same run. The naive path runs on a sample (default 2,000
schools) because at its rate the full 54,000 would take minutes; its rate is what is compared.

    .venv/bin/python bench/bench_scoring.py [--schools 54000] [--naive 2000] [--url URL]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from cdsflow.assessment.files import shipped_index_sets  # noqa: E402
from cdsflow.assessment.model import AnswerKind  # noqa: E402
from cdsflow.assessment.scoring import score  # noqa: E402
from cdsflow.services.scoring import _score_row, score_many  # noqa: E402
from cdsflow.storage.assessment_tables import AssessmentAnswer, AssessmentScore  # noqa: E402
from cdsflow.storage.db import make_engine  # noqa: E402
from cdsflow.storage.schema import metadata  # noqa: E402
from cdsflow.storage.tables import Assessment, Campaign, Unit  # noqa: E402

S = shipped_index_sets()["4725"]


def random_answers(rng: random.Random) -> dict:
    out = {}
    for code, item in S.items.items():
        if rng.random() < 0.05:
            continue  # some items left unscored, as in real forms
        k = item.kind
        if k is AnswerKind.YES_NO:
            out[code] = rng.random() < 0.7
        elif k is AnswerKind.COUNT:
            out[code] = rng.randint(0, 80)
        elif k is AnswerKind.PERCENTAGE:
            out[code] = round(rng.uniform(0, 100), 1)
        elif k is AnswerKind.CHOICE:
            out[code] = rng.choice([c.code for c in item.choices])
        else:
            out[code] = rng.randint(0, int(item.max_points))
    return out


def setup(url: str, n: int):
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with Session(engine) as s:
        bureau = Unit(code="bureau", name="Phòng GDĐT", short_code="P", kind="bureau")
        s.add(bureau)
        s.flush()
        camp = Campaign(issuer_id=bureau.id, school_year="2024-2025", title="KH", index_set_code="4725",
                        index_set_hash=S.content_hash)
        s.add(camp)
        s.flush()
        s.execute(insert(Unit), [dict(code=f"s{i}", name=f"Trường {i}", short_code=f"T{i}", kind="school",
                                      supervisor_id=bureau.id) for i in range(n)])
        school_ids = s.execute(select(Unit.id).where(Unit.kind == "school").order_by(Unit.id)).scalars().all()
        s.execute(insert(Assessment), [dict(campaign_id=camp.id, school_id=sid, state="self_assessment") for sid in school_ids])
        ids = s.execute(select(Assessment.id).order_by(Assessment.id)).scalars().all()
        s.commit()
    return engine, ids


def project_path(engine, rows, *, store_answers: bool) -> float:
    t0 = time.perf_counter()
    with Session(engine) as s:
        for i in range(0, len(rows), 5000):
            score_many(s, S, rows[i:i + 5000], store_answers=store_answers)
        s.commit()
    return time.perf_counter() - t0


def naive_path(engine, rows) -> float:
    t0 = time.perf_counter()
    with Session(engine) as s:
        for a_id, answers in rows:
            r = score(S, answers)
            now = datetime.now(UTC)
            for code, value in answers.items():
                s.add(AssessmentAnswer(assessment_id=a_id, phase="self", item_code=code, value=value,
                                       answered_by="bench", answered_at=now))
            s.add(AssessmentScore(**_score_row(a_id, "self", r, "bench", now)))
            s.commit()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=54_000)
    ap.add_argument("--naive", type=int, default=2_000)
    ap.add_argument("--url", default=None, help="database URL (default: a SQLite file in a temp dir)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cdsflow-bench-"))
    url_a = args.url or f"sqlite:///{tmp / 'project.db'}"
    url_b = args.url or f"sqlite:///{tmp / 'naive.db'}"
    rng = random.Random(4725)

    engine, ids = setup(url_a, args.schools)
    rows = [(a_id, random_answers(rng)) for a_id in ids]
    n_answers = sum(len(a) for _, a in rows)
    print(f"{args.schools:,} schools, {n_answers:,} answers; database: {engine.url.get_backend_name()}")

    t0 = time.perf_counter()
    for _, answers in rows:
        score(S, answers)
    pure = time.perf_counter() - t0
    print(f"pure scoring only:           {args.schools / pure:10,.0f} schools/s ({pure:.2f} s)")

    t_res = project_path(engine, rows, store_answers=False)
    print(f"project path, results only:  {args.schools / t_res:10,.0f} schools/s ({t_res:.2f} s: score + store "
          f"{args.schools:,} result rows)")
    t_proj = project_path(engine, rows, store_answers=True)
    with Session(engine) as s:
        stored = s.execute(select(AssessmentScore.id)).scalars().all()
        answers_stored = s.execute(select(AssessmentAnswer.id)).scalars().all()
    assert len(stored) == args.schools and len(answers_stored) == n_answers
    engine.dispose()
    print(f"project path, with answers:  {args.schools / t_proj:10,.0f} schools/s ({t_proj:.2f} s: score + store "
          f"{n_answers:,} answer rows and the results)")

    engine_b, ids_b = setup(url_b, args.naive)
    sample = [(a_id, answers) for a_id, (_, answers) in zip(ids_b, rows, strict=False)]
    t_naive = naive_path(engine_b, sample)
    engine_b.dispose()
    naive_rate = args.naive / t_naive
    print(f"naive path (add + commit):   {naive_rate:10,.0f} schools/s ({t_naive:.2f} s for {args.naive:,} schools; "
          f"~{args.schools / naive_rate:.0f} s for {args.schools:,})")
    print(f"ratio project / naive:       {(args.schools / t_proj) / naive_rate:10.1f}x (same work: answers + results)")
    print(f"ratio results-only / naive:  {(args.schools / t_res) / naive_rate:10.1f}x")


if __name__ == "__main__":
    main()
