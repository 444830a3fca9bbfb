"""Any damage to an index-set file ends in IndexSetError (a Vietnamese message), never a crash."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdsflow.assessment.files import shipped_index_sets
from cdsflow.assessment.loader import IndexSetError, parse_index_set

BASE = shipped_index_sets()["4725"].content

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["[0, 50)", "(75, 100]", "yes_no", "count", "points", "choice", "1.4", "x"]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), junk), min_size=1, max_size=3))
def test_damaged_files_are_refused_cleanly(damage):
    data = copy.deepcopy(BASE)
    for path, value in damage:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this branch
    try:
        parse_index_set(data, "hong.yaml")
    except IndexSetError as err:
        assert err.message.startswith("Tệp bộ chỉ số hong.yaml")
