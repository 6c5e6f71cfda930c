"""The credentials section of a partner page (phakhi/publish/partner_credentials.py): the latest rows inline, the
count of all of them, each row labelled; every row in the per-partner CSV."""
import pandas as pd

from phakhi.publish.files import csv_bytes, neutralise_formulas
from phakhi.publish.partner_credentials import INLINE_ROWS, with_credentials


class _Wh:
    def __init__(self, table):
        self.table = table

    def opt(self, name):
        return self.table


def _table(n: int) -> pd.DataFrame:
    return pd.DataFrame([{"partner_id": "P001", "credential_id": f"TVER-{i:03d}", "credential_status": "counted",
                          "programme_code": "t_ver", "first_period": f"2025-{1 + i % 12:02d}",
                          "last_period": f"2025-{1 + i % 12:02d}", "claiming_partner_ids": "P001, P002"}
                         for i in range(n)])


def test_a_page_shows_the_latest_credentials_and_counts_them_all():
    n = INLINE_ROWS + 4
    pages = [("p001", {"p": {"partner_id": "P001"}}), ("p002", {"p": {"partner_id": "P002"}})]
    out = dict(with_credentials(iter(pages), _Wh(_table(n)), codes=lambda kind, code: (code, code)))
    section = out["p001"]["credentials"]
    assert section["total"] == n and len(section["rows"]) == INLINE_ROWS
    periods = [r["last_period"] for r in section["rows"]]
    assert periods == sorted(periods) and periods[-1] == "2025-12"      # the latest, oldest first
    assert all(r["others"] == ["P002"] and r["status_label"] == ("counted", "counted") for r in section["rows"])
    (path, data), = out["p001"]["files"]
    # the bytes csv_bytes writes for the partner's rows (formatted by one to_csv per batch of partners)
    assert path == "data/partners/p001/credentials.csv" and data == csv_bytes(neutralise_formulas(_table(n)))
    assert out["p002"]["credentials"] == {"rows": [], "total": 0} and out["p002"]["credentials_csv"] is None
