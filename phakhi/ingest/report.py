"""The per-run ingestion report: what came in, what was loaded, what was quarantined and why.

Three renderings of the same figures:
    print_report(results)              a table on the terminal (rich)
    write_ingest_report(results, dir)  ingest_report.html + CSV files (ingest_summary.csv, ingest_files.csv,
                                       ingest_quarantine_summary.csv, ingest_quarantine.csv)
    write_ingest_report_html(results, dir)  the same, for the publication's data-quality page

The HTML page is self-contained (no scripts, no web fonts, no CDN), bilingual (Thai first), and shows no
private value: values of private contract columns are already withheld in the quarantine records.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

STATUS_TH = {"loaded": "นำเข้าครบ", "partially_loaded": "นำเข้าบางส่วน", "quarantined": "กักทุกแถว",
             "rejected": "ปฏิเสธทั้งไฟล์", "superseded": "ถูกแทนที่", "duplicate": "ไฟล์ซ้ำ"}
FAMILY_TH = {"partner_registry": "ทะเบียนภาคี", "activity_reports": "รายงานกิจกรรม", "ghg_reductions": "การลดก๊าซเรือนกระจก",
             "partner_inventories": "บัญชีก๊าซเรือนกระจกของภาคี", "survey_waves": "ข้อมูลการสำรวจ"}
SUMMARY_COLUMNS = ["family", "files", "files_rejected", "files_superseded", "files_duplicate", "rows_read",
                   "rows_loaded", "rows_quarantined", "rows_superseded", "balanced"]
FILE_COLUMNS = ["family", "file", "status", "rule", "reason_en", "reason_th", "partner_id", "period", "rows_read",
                "rows_loaded", "rows_quarantined", "rows_superseded", "blank_rows", "sheet", "encoding", "file_hash",
                "received_at", "superseded_by", "notes"]


def summary_table(results):
    import pandas as pd

    rows = []
    for r in results:
        t = r.totals
        t["balanced"] = bool(t["rows_read"] == t["rows_loaded"] + t["rows_quarantined"] + t["rows_superseded"])
        rows.append(t)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def file_table(results):
    import pandas as pd

    frames = [r.file_report for r in results if len(r.file_report)]
    if not frames:
        return pd.DataFrame(columns=FILE_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=FILE_COLUMNS)


def quarantine_rows(results):
    import pandas as pd

    from phakhi.ingest.files import QUARANTINE_COLUMNS

    frames = [r.quarantine for r in results if len(r.quarantine)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=QUARANTINE_COLUMNS)


def quarantine_summary(results):
    """Problems by family, rule and column: how many rows and files, and one example message (TH/EN)."""
    import pandas as pd

    q = quarantine_rows(results)
    cols = ["family", "rule", "column", "problems", "rows", "files", "example_value", "message_th", "message_en"]
    if q.empty:
        return pd.DataFrame(columns=cols)
    g = q.groupby(["family", "rule", "column"], dropna=False, sort=True)
    out = g.agg(problems=("row", "size"), files=("file", "nunique"), example_value=("value", "first"),
                message_th=("message_th", "first"), message_en=("message_en", "first")).reset_index()
    out["rows"] = g.apply(lambda d: len(d[["file", "sheet", "row"]].drop_duplicates()), include_groups=False).values
    return out.sort_values(["family", "problems"], ascending=[True, False])[cols]


# --------------------------------------------------------------------------- terminal

def print_report(results, console=None, max_problems: int = 20, max_files: int = 40) -> None:
    """Files (all of them, or only those needing attention when there are more than `max_files`), the
    per-family summary with its balance check, and the quarantine grouped by rule and column."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    files = file_table(results)
    title = "Files / ไฟล์"
    if len(files) > max_files:
        n = len(files)
        files = files[files["status"] != "loaded"]
        title = f"Files needing attention / ไฟล์ที่ต้องตรวจสอบ ({len(files)} of {n}; the others loaded cleanly)"
    t = Table(title=title, show_lines=False)
    for c, j in (("family", "left"), ("file", "left"), ("status", "left"), ("read", "right"), ("loaded", "right"),
                 ("quarantined", "right"), ("superseded", "right"), ("reason", "left")):
        t.add_column(c, justify=j, overflow="fold")
    colour = {"loaded": "green", "partially_loaded": "yellow", "quarantined": "red", "rejected": "red",
              "superseded": "dim", "duplicate": "dim"}
    for r in files.itertuples():
        t.add_row(r.family, r.file, f"[{colour.get(r.status, 'white')}]{r.status}[/]", str(r.rows_read),
                  str(r.rows_loaded), str(r.rows_quarantined), str(r.rows_superseded), r.reason_en or "")
    console.print(t)
    s = summary_table(results)
    t = Table(title="Summary / สรุป")
    for c in SUMMARY_COLUMNS:
        t.add_column(c, justify="left" if c == "family" else "right")
    for r in s.itertuples(index=False):
        t.add_row(*[("[green]yes[/]" if v else "[red]NO[/]") if isinstance(v, bool) else str(v) for v in r])
    console.print(t)
    qs = quarantine_summary(results)
    if len(qs):
        t = Table(title="Quarantine by rule / แถวที่ถูกกักแยกตามกฎ")
        for c in ("family", "rule", "column", "rows", "files", "example", "message (EN / TH)"):
            t.add_column(c, overflow="fold")
        for r in qs.head(max_problems).itertuples():
            t.add_row(r.family, r.rule, str(r.column or "—"), str(r.rows), str(r.files), str(r.example_value or ""),
                      f"{r.message_en}\n{r.message_th}")
        console.print(t)
        if len(qs) > max_problems:
            console.print(f"... and {len(qs) - max_problems} more rule/column combinations")


# --------------------------------------------------------------------------- files

_HTML = """<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>รายงานการนำเข้าข้อมูล · Ingestion report</title>
<style>
body{font-family:"Sarabun","Noto Sans Thai","Tahoma",sans-serif;margin:1.5rem auto;max-width:1200px;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:2px solid #0b6e4f;padding-bottom:.2rem}
.en{color:#555;font-size:.92em}.muted{color:#666}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.5rem 0}
th,td{border:1px solid #d6d6d6;padding:.3rem .45rem;vertical-align:top;text-align:left}
th{background:#eef5f1}td.n{text-align:right;font-variant-numeric:tabular-nums}
.s-loaded{color:#0b6e4f}.s-partially_loaded{color:#9a6700}.s-quarantined,.s-rejected{color:#b42318;font-weight:600}
.s-superseded,.s-duplicate{color:#666}.ok{color:#0b6e4f;font-weight:600}.bad{color:#b42318;font-weight:600}
code{font-size:.85em}details{margin:.5rem 0}
</style></head><body>
<h1>รายงานการนำเข้าข้อมูล <span class="en">· Ingestion report</span></h1>
<p class="muted">{{ generated }} · ทุกแถวที่อ่านได้ถูกนำเข้า กักไว้พร้อมเหตุผล หรือถูกแทนที่ด้วยไฟล์ที่ส่งภายหลัง
<span class="en">— every row read is loaded, quarantined with a reason, or superseded by a later file.</span></p>
<p>{% for name, label in downloads %}<a href="{{ name }}">{{ label }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</p>

<h2>สรุปตามแหล่งข้อมูล <span class="en">· Summary by source</span></h2>
<table><thead><tr><th>แหล่งข้อมูล<br><span class="en">source</span></th><th>ไฟล์<br><span class="en">files</span></th>
<th>ปฏิเสธ<br><span class="en">rejected</span></th><th>ถูกแทนที่<br><span class="en">superseded</span></th>
<th>ซ้ำ<br><span class="en">duplicate</span></th><th>แถวที่อ่าน<br><span class="en">rows read</span></th>
<th>นำเข้า<br><span class="en">loaded</span></th><th>กักไว้<br><span class="en">quarantined</span></th>
<th>ถูกแทนที่<br><span class="en">superseded</span></th><th>ครบถ้วน<br><span class="en">balanced</span></th></tr></thead><tbody>
{% for r in summary %}<tr><td>{{ family_th.get(r.family, r.family) }}<br><span class="en">{{ r.family }}</span></td>
<td class="n">{{ r.files }}</td><td class="n">{{ r.files_rejected }}</td><td class="n">{{ r.files_superseded }}</td>
<td class="n">{{ r.files_duplicate }}</td><td class="n">{{ "{:,}".format(r.rows_read) }}</td>
<td class="n">{{ "{:,}".format(r.rows_loaded) }}</td><td class="n">{{ "{:,}".format(r.rows_quarantined) }}</td>
<td class="n">{{ "{:,}".format(r.rows_superseded) }}</td>
<td>{% if r.balanced %}<span class="ok">✓</span>{% else %}<span class="bad">✗</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>

<h2>ไฟล์ที่ต้องตรวจสอบ <span class="en">· Files needing attention</span> ({{ attention|length }})</h2>
{% if attention %}<table><thead><tr><th>ไฟล์ · file</th><th>สถานะ · status</th><th>ภาคี · partner</th><th>งวด · period</th>
<th>อ่าน · read</th><th>นำเข้า · loaded</th><th>กัก · quarantined</th><th>เหตุผล · reason</th></tr></thead><tbody>
{% for r in attention %}<tr><td><code>{{ r.file }}</code><br><span class="en">{{ r.family }}</span></td>
<td class="s-{{ r.status }}">{{ status_th.get(r.status, r.status) }}<br><span class="en">{{ r.status }}</span></td>
<td>{{ r.partner_id or "" }}</td><td>{{ r.period or "" }}</td><td class="n">{{ r.rows_read }}</td>
<td class="n">{{ r.rows_loaded }}</td><td class="n">{{ r.rows_quarantined }}</td>
<td>{{ r.reason_th or "" }}<br><span class="en">{{ r.reason_en or "" }}</span>{% if r.notes %}<br><span class="muted">{{ r.notes }}</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>ไม่มี <span class="en">· none</span></p>{% endif %}

<h2>แถวที่ถูกกักแยกตามกฎ <span class="en">· Quarantine by rule</span></h2>
{% if rules %}<table><thead><tr><th>แหล่งข้อมูล · source</th><th>กฎ · rule</th><th>คอลัมน์ · column</th><th>แถว · rows</th>
<th>ไฟล์ · files</th><th>ตัวอย่างค่า · example</th><th>ข้อความ · message</th></tr></thead><tbody>
{% for r in rules %}<tr><td>{{ r.family }}</td><td><code>{{ r.rule }}</code></td><td>{{ r.column or "—" }}</td>
<td class="n">{{ r.rows }}</td><td class="n">{{ r.files }}</td><td>{{ r.example_value or "" }}</td>
<td>{{ r.message_th }}<br><span class="en">{{ r.message_en }}</span></td></tr>{% endfor %}
</tbody></table>{% else %}<p>ไม่มีแถวที่ถูกกัก <span class="en">· no row was quarantined</span></p>{% endif %}

{% if problems %}<h2>รายการที่ถูกกัก <span class="en">· Quarantined cells and rows</span>
{% if problems_total > problems|length %}<span class="muted">(first {{ problems|length }} of {{ problems_total }})</span>{% endif %}</h2>
<table><thead><tr><th>ไฟล์ · file</th><th>ชีต · sheet</th><th>แถว · row</th><th>คอลัมน์ · column</th><th>ค่า · value</th>
<th>กฎ · rule</th><th>ข้อความ · message</th></tr></thead><tbody>
{% for p in problems %}<tr><td><code>{{ p.file }}</code></td><td>{{ p.sheet or "" }}</td><td class="n">{{ p.row }}</td>
<td>{{ p.header or p.column or "" }}</td><td>{{ p.value if p.value is not none else "" }}</td><td><code>{{ p.rule }}</code></td>
<td>{{ p.message_th }}<br><span class="en">{{ p.message_en }}</span></td></tr>{% endfor %}
</tbody></table>{% endif %}

<details><summary>ไฟล์ทั้งหมด <span class="en">· all files</span> ({{ files_count }})</summary>
<table><thead><tr><th>ไฟล์ · file</th><th>สถานะ · status</th><th>อ่าน</th><th>นำเข้า</th><th>กัก</th><th>แทนที่</th><th>sha256</th></tr></thead><tbody>
{{ files_rows }}
</tbody></table></details>
</body></html>
"""

# the "all files" table's rows: each row's text depends on its values alone (and the table's dtypes), so a row
# rendered by an earlier run is reused (FileRowsCache) and only rows with new values are rendered; rendering rows
# apart and joining them gives the same text as rendering the table whole
_FILE_ROWS = """{% for r in files %}<tr><td><code>{{ r.file }}</code></td><td class="s-{{ r.status }}">{{ r.status }}</td><td class="n">{{ r.rows_read }}</td>
<td class="n">{{ r.rows_loaded }}</td><td class="n">{{ r.rows_quarantined }}</td><td class="n">{{ r.rows_superseded }}</td>
<td><code>{{ (r.file_hash or "")[:12] }}</code></td></tr>{% endfor %}"""
ROW_COLUMNS = ["file", "status", "rows_read", "rows_loaded", "rows_quarantined", "rows_superseded", "file_hash"]

DOWNLOADS = [("ingest_summary.csv", "ingest_summary.csv"), ("ingest_files.csv", "ingest_files.csv"),
             ("ingest_quarantine_summary.csv", "ingest_quarantine_summary.csv"),
             ("ingest_quarantine.csv", "ingest_quarantine.csv")]


def render_ingest_report_html(results, max_problems: int = 500, rows_cache: "FileRowsCache | None" = None,
                              files=None) -> str:
    """The page; `files`: `file_table(results)` when the caller has it already (a national one: ~0.5 s)."""
    import jinja2
    from markupsafe import Markup

    files = file_table(results) if files is None else files
    q = quarantine_rows(results)
    attention = files[files["status"] != "loaded"] if len(files) else files
    env = jinja2.Environment(autoescape=True)
    return env.from_string(_HTML).render(
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        summary=list(summary_table(results).itertuples(index=False)),
        attention=[_plain(r) for r in attention.to_dict("records")],
        rules=[_plain(r) for r in quarantine_summary(results).to_dict("records")],
        problems=[_plain(r) for r in q.head(max_problems).to_dict("records")], problems_total=len(q),
        files_rows=Markup(_file_rows(env, results, files, rows_cache)), files_count=len(files),
        status_th=STATUS_TH, family_th=FAMILY_TH, downloads=DOWNLOADS)


def _file_rows(env, results, files, cache: "FileRowsCache | None") -> str:
    """The "all files" rows, family by family (the file table is the families' reports in order): with
    `cache`, only the rows no earlier run rendered with the same values are rendered."""
    template = env.from_string(_FILE_ROWS)

    def render(part) -> str:
        return template.render(files=[_plain(r) for r in part.reindex(columns=ROW_COLUMNS).to_dict("records")])

    if cache is None:
        return render(files)
    kinds = repr([(c, str(files[c].dtype)) for c in ROW_COLUMNS])   # values print by the whole table's dtypes
    out = []
    for r, at, end in _family_spans(results):
        part = files.iloc[at:end]

        def render_rows(idx, part=part) -> list[str]:
            text = render(part.iloc[idx])
            rows = text.split("</tr>")         # each row's text ends with its one "</tr>" (values are escaped)
            if len(rows) == len(idx) + 1 and rows[-1] == "":
                return [t + "</tr>" for t in rows[:-1]]
            return [render(part.iloc[[i]]) for i in idx]

        out.append(cache.rows(r.family, (_FILE_ROWS, kinds), part[ROW_COLUMNS], render_rows))
    cache.save()
    return "".join(out)


def _family_spans(results):
    """(result, first row, end row) of each family with rows in the file table (`file_table`: in order)."""
    start = 0
    for r in results:
        n = len(r.file_report) if r.file_report is not None else 0
        if n:
            yield r, start, start + n
        start += n


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """What renders a row besides its values: this module's code and the pandas and jinja2 that run it."""
    import hashlib

    import jinja2
    import pandas as pd

    return f"{pd.__version__}:{jinja2.__version__}:{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}"


class FileRowsCache:
    """The text a family's "all files" table (kind "rows": ingest_report.html's rows; "csv": ingest_files.csv's
    lines) was rendered to, with the values it was rendered from, in `folder/report-<kind>-<family>.pkl`. A
    row whose file has the same values as when kept reuses its text: a month's new
    files, or a resubmission that supersedes a kept file in the middle of the table, render only their own
    rows. Rows are compared by value and type (`same_rows`) under the `stamp` (template, dtypes, this module's
    code, pandas) the text was made with, so kept text is never stale; deleting the files is always safe."""
    FORMAT = 4                # 4: CSV lines in one date format (3: by their chunk's format; 2: a prefix)

    def __init__(self, folder: Path, kind: str = "rows"):
        self.folder = Path(folder)
        self.kind = kind
        self._dirty: dict[str, tuple] = {}
        self.stats = {"rendered": 0, "reused": 0}

    def _path(self, family: str) -> Path:
        return self.folder / f"report-{self.kind}-{family}.pkl"

    def _load(self, family: str, stamp):
        import pickle

        try:
            with self._path(family).open("rb") as fh:
                fmt, kept_stamp, entry = pickle.load(fh)
            return entry if fmt == self.FORMAT and kept_stamp == stamp else None
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
            return None

    def rows(self, family: str, stamp, values, render) -> str:
        """The text of the family's rows: `values` (a frame of what the text depends on, with its "file"),
        each row's text kept where the same file had the same values under the same `stamp`, else
        `render(positions)` -> the texts of the rows at those positions."""
        import numpy as np

        stamp = (_code_stamp(), stamp)
        values = values.reset_index(drop=True)
        kept = self._load(family, stamp)
        n = len(values)
        if kept is None:
            pos, kept_text, kept_ends = np.full(n, -1), "", np.zeros(0, dtype=np.int64)
        else:
            kept_values, kept_text, kept_ends = kept
            pos = same_rows(kept_values, values)
        missing = np.flatnonzero(pos < 0)
        texts = render(missing.tolist()) if len(missing) else []
        starts = np.concatenate([[0], kept_ends[:-1]])
        lens = np.where(pos >= 0, (kept_ends - starts)[np.maximum(pos, 0)] if len(kept_ends) else 0, 0)
        lens[missing] = [len(t) for t in texts]
        # runs of rows kept one after another are one slice of the kept text
        cut = np.flatnonzero((pos[1:] < 0) | (pos[:-1] < 0) | (pos[1:] != pos[:-1] + 1)) + 1
        out, j = [], 0                          # j: the next rendered row's text
        for a, b in zip(np.concatenate([[0], cut]).tolist(), np.concatenate([cut, [n]]).tolist()):
            if pos[a] >= 0:
                out.append(kept_text[starts[pos[a]]:kept_ends[pos[b - 1]]])
            else:
                out.append("".join(texts[j:j + b - a]))
                j += b - a
        text = "".join(out)
        self.stats["rendered"] += len(missing)
        self.stats["reused"] += n - len(missing)
        if kept is None or len(missing) or n != len(kept_ends) or not np.array_equal(pos, np.arange(n)):
            self._dirty[family] = (stamp, (values, text, np.cumsum(lens)))
        return text

    def save(self) -> None:
        import os
        import pickle

        if self._dirty:
            self.folder.mkdir(parents=True, exist_ok=True)
        for family, (stamp, entry) in self._dirty.items():
            path = self._path(family)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump((self.FORMAT, stamp, entry), fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
        self._dirty.clear()


def same_rows(kept, new):
    """For each row of the frame `new`, the position of the row of `kept` with the same "file" and the same
    values in every column -- equal and of the same type, so printed alike --; -1 where there is none. Missing values (None, NaN, NaT, pd.NA) match each other: every
    one prints alike."""
    import numpy as np
    import pandas as pd

    n = len(new)
    if list(kept.columns) != list(new.columns) or not len(kept):
        return np.full(n, -1)
    m = min(n, len(kept))          # most files keep their place: looked up by name only where they moved
    pos = np.full(n, -1)
    pos[:m] = np.where(kept["file"].to_numpy()[:m] == new["file"].to_numpy()[:m], np.arange(m), -1)
    moved = np.flatnonzero(pos < 0)
    if len(moved):
        try:
            pos[moved] = pd.Index(kept["file"]).get_indexer(new["file"].to_numpy()[moved])
        except pd.errors.InvalidIndexError:                 # a file twice: matched in place only
            pass
    ok = pos >= 0
    take = np.where(ok, pos, 0)
    for c in new.columns:
        if kept[c].dtype != new[c].dtype:
            return np.full(n, -1)
        ok &= _same_values(_array(kept[c])[take], _array(new[c]))
    return np.where(ok, pos, -1)


def _array(s):
    """A column's values as numpy holds them; an extension dtype's (nullable, string, category) as objects."""
    import numpy as np

    return s.to_numpy() if isinstance(s.dtype, np.dtype) else s.to_numpy(dtype=object)


def _same_values(a, b):
    """Where two arrays of one dtype hold values printed alike: the same bits for numbers and stamps (0.0 and
    -0.0 apart), equal values of one type for objects, and missing on both sides."""
    import pandas as pd
    from pandas.api.types import infer_dtype

    if a.dtype.kind in "fmM":
        return a.view(f"u{a.dtype.itemsize}") == b.view(f"u{b.dtype.itemsize}")
    if a.dtype.kind in "iub":
        return a == b
    na, nb = pd.isna(a), pd.isna(b)
    out = na & nb
    both = ~na & ~nb
    x, y = a[both], b[both]
    kind = infer_dtype(x, skipna=False)
    if kind == infer_dtype(y, skipna=False) and kind in ("string", "integer", "boolean", "empty"):
        out[both] = x == y                                  # one type each side: == is printed alike
    else:
        out[both] = [u.__class__ is v.__class__ and repr(u) == repr(v) for u, v in zip(x, y)]
    return out


class _Apart(Exception):
    """Rows that `to_csv` would write otherwise on their own than within the whole table."""


# ingest_files.csv's datetimes (received_at), one format for every row: left to itself, to_csv picks a
# format per chunk of ~5,000 rows (microseconds shown or not, dates only), so a row's text would depend on
# its neighbours -- and a kept line could not be reused without following pandas' chunks
CSV_DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _files_csv(results, frame, cache: FileRowsCache) -> str | None:
    """ingest_files.csv's text (`frame`: the file table as written), as `frame.to_csv(index=False,
    date_format=CSV_DATE_FORMAT)` gives it, from each row's kept line where an earlier run wrote the same file
    with the same values (`cache`): only new or changed rows are written -- rewriting the whole file every run
    cost a national "nothing new" refresh ~0.5 s CPU, and a month of resubmissions, which changes kept rows in
    the middle, the whole family. A line is its row's values' own text (one date format for every row);
    None (the caller writes the table whole) for a column of another kind or a value spanning lines."""
    import os

    if not all(_per_value(frame[c].dtype) for c in frame.columns):
        return None
    kinds = repr([(c, str(frame[c].dtype)) for c in frame.columns])
    out = [frame.iloc[:0].to_csv(index=False)]
    try:
        for r, at, end in _family_spans(results):
            part = frame.iloc[at:end]

            def render(idx, part=part) -> list[str]:
                lines = part.iloc[idx].to_csv(index=False, header=False, date_format=CSV_DATE_FORMAT) \
                    .split(os.linesep)
                if len(lines) != len(idx) + 1 or lines[-1] != "":
                    raise _Apart                             # a value with a line break: lines are not rows
                return [line + os.linesep for line in lines[:-1]]

            out.append(cache.rows(r.family, kinds, part, render))   # the format: in _code_stamp
    except _Apart:
        return None
    cache.save()
    return "".join(out)


def _per_value(dtype) -> bool:
    """Whether to_csv writes each value of a column of this dtype by itself alone (naive datetimes: by
    CSV_DATE_FORMAT)."""
    import pandas as pd

    if isinstance(dtype, pd.StringDtype):
        return True
    return getattr(dtype, "kind", None) in ("O", "i", "u", "f", "b") or (dtype.kind == "M" and
                                                                      getattr(dtype, "tz", None) is None)


def _plain(d: dict) -> dict:
    return {k: (None if _na(v) else v) for k, v in d.items()}


def _na(v) -> bool:
    try:
        return v is None or bool(v != v)
    except (TypeError, ValueError):
        return False


def write_ingest_report(results, out_dir: Path | str, rows_cache: Path | None = None) -> dict[str, Path]:
    """Write ingest_report.html and the CSV files it links to into `out_dir`; returns their paths. With
    `rows_cache` (a folder: the refresh's ingest cache), only the rows of the "all files" table and of
    ingest_files.csv that no earlier run rendered with the same values are rendered (FileRowsCache)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "ingest_summary.csv": summary_table(results),
        "ingest_files.csv": file_table(results),
        "ingest_quarantine_summary.csv": quarantine_summary(results),
        "ingest_quarantine.csv": quarantine_rows(results),
    }
    from phakhi.publish.files import neutralise_formulas

    written = {}
    for name, frame in paths.items():
        # staff open these in Excel too: a partner's "=HYPERLINK(...)" is shown, never run (as published CSVs)
        frame = neutralise_formulas(frame)
        text = None
        if name == "ingest_files.csv" and rows_cache is not None:      # the kept families' lines: kept
            text = _files_csv(results, frame, FileRowsCache(rows_cache, kind="csv"))
        if text is None:
            frame.to_csv(out_dir / name, index=False, encoding="utf-8-sig",   # BOM: Excel, Thai
                         date_format=CSV_DATE_FORMAT)
        else:
            with (out_dir / name).open("w", encoding="utf-8-sig", newline="") as fh:    # as to_csv writes it
                fh.write(text)
        written[name] = out_dir / name
    html = out_dir / "ingest_report.html"
    cache = FileRowsCache(rows_cache) if rows_cache is not None else None
    html.write_text(render_ingest_report_html(results, rows_cache=cache, files=paths["ingest_files.csv"]),
                    encoding="utf-8")
    written["ingest_report.html"] = html
    return written


def write_ingest_report_html(results, out_dir: Path | str) -> Path:
    """For the publication's data-quality page: writes `out_dir/ingest_report.html` (and the CSV files it
    links to, all named ingest_*.csv) and returns the HTML file's path."""
    return write_ingest_report(results, out_dir)["ingest_report.html"]
