"""assemble_family's duplicate-key check finds repeated keys by their hashes first (files._repeated_keys):
the same keys and rows, in the same order, as comparing every row's exact key -- colliding hashes included."""
from types import SimpleNamespace

from phakhi.ingest.files import _repeated_keys

KEY = ["partner_id", "period", "activity_no"]


def _rows(*nos):
    return [{"partner_id": "P1", "period": "2025-01", "activity_no": n, "_row": k} for k, n in enumerate(nos)]


def _exact(outcomes):
    """What the check compared before: every complete row key in a dict, in first-seen order."""
    seen = {}
    for o in outcomes:
        for r in o.records:
            k = tuple(r.get(c) for c in KEY)
            if None not in k:
                seen.setdefault(k, []).append((o, r))
    return [(k, hits) for k, hits in seen.items() if len(hits) > 1]


def test_repeated_keys_as_exact_comparison_with_colliding_hashes():
    assert hash(("P1", "2025-01", -1)) == hash(("P1", "2025-01", -2))     # CPython: hash(-1) == hash(-2)
    a = SimpleNamespace(records=_rows(-1, 5, 7, None, 9))
    b = SimpleNamespace(records=_rows(-2, 7, 5.0, None))
    c = SimpleNamespace(records=[])
    d = SimpleNamespace(records=_rows(9, 5, -1))
    outcomes = [a, b, c, d]
    got = _repeated_keys(outcomes, KEY)
    assert [(k, [(id(o), id(r)) for o, r in hits]) for k, hits in got] == \
           [(k, [(id(o), id(r)) for o, r in hits]) for k, hits in _exact(outcomes)]
    assert [k[2] for k, _ in got] == [-1, 5, 7, 9]            # -2 collides with -1 but is not a repeat
    assert [len(hits) for _, hits in got] == [2, 3, 2, 2]


def test_no_repeated_keys():
    assert _repeated_keys([SimpleNamespace(records=_rows(1, 2, None, None))], KEY) == []
    assert _repeated_keys([SimpleNamespace(records=[])], KEY) == []
    assert _repeated_keys([], KEY) == []
