"""Breaks each rule of the rulebook once and checks that the test suite notices (run by hand:
`.venv/bin/python scripts/rulebook_mutants.py [test paths…]`). Prints every surviving mutant.
By default it runs the use-case tests of the rule table (tests/integration/test_rule_table_use_cases.py),
the mutated action's own tests first so that a caught mutant stops early (-x).

A mutant loosens one line of `workflow/rulebook.py` in memory: drops one (role, relation) pair,
allows every school stage, every campaign status, or drops one requirement. By default every mutant
runs in this one process (pytest.main, the table restored after each), so imports and the tests'
world are paid once; `--isolated` runs each in a fresh interpreter instead, loading this file through
`-p scripts.rulebook_mutants` with MUTANT=action:kind:index set.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import subprocess
import sys


def _apply() -> None:
    spec = os.environ.get("MUTANT")
    if not spec:
        return
    from cdsflow.kernel.stages import CampaignStatus, Stage
    from cdsflow.workflow import rulebook

    action, kind, index = spec.split(":")
    r, i = rulebook.RULES[action], int(index)
    if kind == "who":
        r = dataclasses.replace(r, who=r.who[:i] + r.who[i + 1:])
    elif kind == "stages":
        r = dataclasses.replace(r, stages=frozenset(Stage))
    elif kind == "campaign":
        r = dataclasses.replace(r, campaign=frozenset(CampaignStatus))
    elif kind == "requires":
        r = dataclasses.replace(r, requires=r.requires[:i] + r.requires[i + 1:])
    rulebook.RULES[action] = r


_apply()


def pytest_collection_modifyitems(items: list) -> None:
    """The mutated action's tests (named by their parameter) first: the order changes, not the set."""
    spec = os.environ.get("MUTANT")
    if spec:
        action = spec.split(":")[0]
        items.sort(key=lambda item: f"[{action}]" not in item.nodeid and f"[{action}-" not in item.nodeid)


def _survives_isolated(m: str, paths: list[str]) -> bool:
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "scripts.rulebook_mutants",
                           "-p", "no:cacheprovider", *paths], env={**os.environ, "MUTANT": m},
                          capture_output=True, text=True)
    return done.returncode == 0


def _survives(m: str, paths: list[str]) -> bool:
    """Run the tests with mutant `m` applied in this process; the table is restored afterwards."""
    import pytest

    from cdsflow.workflow import rulebook

    saved = dict(rulebook.RULES)
    os.environ["MUTANT"] = m
    try:
        _apply()
        with contextlib.redirect_stdout(io.StringIO()):
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *paths], plugins=[sys.modules[__name__]])
    finally:
        rulebook.RULES.clear()
        rulebook.RULES.update(saved)
        del os.environ["MUTANT"]
    return code == 0


def main(paths: list[str], isolated: bool = False) -> int:
    sys.path.insert(0, ".")
    from cdsflow.kernel.stages import CampaignStatus, Stage
    from cdsflow.workflow.rulebook import RULES

    mutants = []
    for action, r in RULES.items():
        mutants += [f"{action}:who:{i}" for i in range(len(r.who))]
        if r.stages is not None and r.stages != frozenset(Stage):
            mutants.append(f"{action}:stages:0")
        if r.campaign is not None and r.campaign != frozenset(CampaignStatus):
            mutants.append(f"{action}:campaign:0")
        mutants += [f"{action}:requires:{i}" for i in range(len(r.requires))]
    survivors = [m for m in mutants if (_survives_isolated(m, paths) if isolated else _survives(m, paths))]
    print(f"{len(mutants)} mutants, {len(mutants) - len(survivors)} killed, {len(survivors)} survived")
    for m in survivors:
        print("  survived:", m)
    return 1 if survivors else 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--isolated"]
    raise SystemExit(main(args or ["tests/integration/test_rule_table_use_cases.py"],
                          isolated="--isolated" in sys.argv[1:]))
