"""Open-data files a new month did not change (issue 17): each published table - or each month of a table
published month by month (`ghg_ledger`, `partner_trajectory`) - is fingerprinted from exactly the frame its
files are formatted from (its columns, pandas types and every row's values, in order; `frame_key`), and an
index beside the content store (publications/.open-data-files.tsv) remembers which CSV and Parquet bytes that
frame gave. A frame the index knows is linked from the store (files.link_known) without formatting either
file; the bytes are the same either way (tests/test_publish_known_tables.py).

The key also holds what, besides the rows, decides the bytes: this module's FORMAT, the file's name, the
pandas / pyarrow / numpy versions and the formula prefixes neutralised. The index is only a shortcut: a
missing, stale or damaged index, or a store entry lost meanwhile, means the files are formatted again."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from phakhi.publish.files import (FORMULA_PREFIXES, csv_bytes, known_digest, link_known, neutralise_formulas,
                                  parquet_bytes, read_store_index, write_bytes, write_store_index)

FORMAT = "1"                   # change when write_table's bytes change: every index entry is then unknown
INDEX_FILE = ".open-data-files.tsv"


def _context() -> str:
    import numpy as np
    import pyarrow

    text = json.dumps([FORMAT, pd.__version__, pyarrow.__version__, np.__version__, list(FORMULA_PREFIXES)])
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def frame_key(df: pd.DataFrame, name: str) -> str | None:
    """A digest of what decides the files of `df` published as `name` (None: cannot say; format them)."""
    try:
        rows = pd.util.hash_pandas_object(df, index=False).to_numpy()      # 64 bits a row, in row order
    except Exception:  # noqa: BLE001 - a value pandas cannot hash: no shortcut
        return None
    head = json.dumps([_context(), name, len(df), [(str(c), str(t)) for c, t in df.dtypes.items()]],
                      ensure_ascii=True)
    h = hashlib.sha256(head.encode("ascii"))
    h.update(rows.tobytes())
    return h.hexdigest()[:40]


class KnownTables:
    """The index of one content store (`<frame key>.<csv|parquet>` -> the bytes' sha256 and size): read once
    per publication; `write_table` uses and remembers entries; `save()` keeps the entries this publication
    used (atomic)."""

    def __init__(self, store: Path | None):
        self.path = None if store is None else Path(store).parent / INDEX_FILE
        self.known: dict[str, tuple[str, int]] = read_store_index(self.path)
        self.used: dict[str, tuple[str, int]] = {}
        self.linked = 0

    def write_table(self, df: pd.DataFrame, folder: Path, name: str) -> list[Path]:
        """files.write_table, linking each file whose bytes the index knows for this very frame."""
        folder.mkdir(parents=True, exist_ok=True)
        key = frame_key(df, f"{folder.name}/{name}") if self.path is not None else None
        out = []
        for kind, make in (("csv", lambda: csv_bytes(neutralise_formulas(df))), ("parquet", lambda: parquet_bytes(df))):
            path = folder / f"{name}.{kind}"
            entry = None if key is None else f"{key}.{kind}"
            hit = self.known.get(entry) if entry is not None else None
            if hit is not None and link_known(path, *hit):
                self.linked += 1
            else:
                data = make()
                write_bytes(path, data)
                digest = known_digest(os.stat(path))         # taken as write_bytes wrote it
                hit = (digest or hashlib.sha256(data).hexdigest(), len(data))
                del data
            if entry is not None:
                self.used[entry] = hit
            out.append(path)
        return out

    def save(self) -> None:
        write_store_index(self.path, self.used)
