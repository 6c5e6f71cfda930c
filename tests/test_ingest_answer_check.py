"""AnswerCheck (many kept files' reference look-ups against one registry, each question answered once) says
what answering each file's look-ups one by one says."""
from __future__ import annotations

from phakhi.ingest.file_cache import AnswerCheck, _answer, _digest


def _one_by_one(asked, known) -> bool:          # the check as it was, per file
    known = known or {}
    for col, answers in asked.items():
        ids = known.get(col)
        if ids is None or any(_answer(ids, v) != hit for v, hit in answers.items()):
            return False
    return not (set(known) - set(asked))


def test_answer_check_agrees_with_asking_each_file_alone():
    known = {"partner_id": {"P1", "P2"}, "unit": {"kg": 1.0, "t": 1000.0}}
    files = [
        {"partner_id": {"P1": True, "P9": False}, "unit": {("get", "kg"): 1.0}},
        {"partner_id": {"P2": True}, "unit": {("get", "t"): 1000.0}},
        {"partner_id": {"P9": True}, "unit": {}},                      # P9 is not known (any more)
        {"partner_id": {"P1": True}, "unit": {("get", "t"): 1.0}},       # the factor changed
        {"partner_id": {"P1": True}},                                    # not checked against units
        {"partner_id": {("all",): _digest(known["partner_id"])}, "unit": {}},
        {"partner_id": {("all",): "an older registry"}, "unit": {}},
        {"partner_id": {"P1": True}, "unit": {}, "period": {"2025-01": True}},   # a reference gone
    ]
    check = AnswerCheck(known)
    got = [check(a) for a in files + files]                  # asked twice: answers from the memo the second time
    want = [_one_by_one(a, known) for a in files + files]
    assert got == want and got[:8] == [True, True, False, False, False, True, False, False]
    assert AnswerCheck(None)({}) and not AnswerCheck(None)({"partner_id": {"P1": True}})
