"""Benchmark: N partner Excel files ingested by Phakhi vs a plain openpyxl loop.

    .venv/bin/python benchmarks/ingest.py                 # N = 2,000 (target: Phakhi >= 10x openpyxl)
    .venv/bin/python benchmarks/ingest.py -n 500 --json out.json

The files are monthly activity reports shaped like the partners' (a title block, Thai headers, 1-4 activities,
B.E. dates, Thai month names); about 2% carry a bad row (an unknown partner or an impossible date) so the
quarantine path runs too. They are generated once into --dir and reused.

    baseline   for each file: pd.read_excel(path, engine="openpyxl")          (reading only)
    phakhi     phakhi.ingest.files.ingest_files + assemble_family               (the refresh's code path: read
               with calamine, fingerprint, find the header, apply the contract, quarantine, settle and account)

Timings are wall-clock and include Phakhi's process-pool start. Phakhi is also timed on one process, where
CPU time is reported too (it does not depend on what else the machine is running; the parallel speed-up does).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HEADERS = ["ลำดับ", "รหัสภาคี", "เดือนที่รายงาน", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด",
           "อำเภอ/เขต", "วันที่จัดกิจกรรม", "ผู้เข้าร่วมทั้งหมด", "หญิง", "ชาย", "เยาวชน", "งบประมาณ (บาท)",
           "ด้าน (ลดก๊าซ/ปรับตัว)", "รหัสโครงการลดก๊าซ", "บทเรียนที่ได้รับ"]
ACE = ["การศึกษา", "การฝึกอบรม", "การสร้างความตระหนักรู้สาธารณะ", "การมีส่วนร่วมของประชาชน",
       "การเข้าถึงข้อมูลข่าวสารของประชาชน", "ความร่วมมือระหว่างประเทศ"]
TYPES = ["ประชุมเชิงปฏิบัติการ", "หลักสูตรอบรม", "รณรงค์", "ศึกษาดูงาน", "กิจกรรมโรงเรียน", "โครงการชุมชน"]
PROVINCES = ["เชียงใหม่", "กรุงเทพมหานคร", "ขอนแก่น", "ชลบุรี", "สงขลา", "นครราชสีมา", "ภูเก็ต", "อุดรธานี"]
MONTHS = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
PARTNERS = [f"P{i:03d}" for i in range(1, 401)]


def make_files(folder: Path, n: int, seed: int = 2568) -> list[Path]:
    """N activity-report workbooks (cached: reused when the folder already holds them)."""
    import numpy as np

    from phakhi.sample import activity_report_workbook

    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(folder.glob("*.xlsx"))
    if len(files) == n:
        return files
    for f in files:
        f.unlink()
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        partner, month = PARTNERS[k % len(PARTNERS)], k // len(PARTNERS) % 12 + 1
        wb, ws = activity_report_workbook(f"ภาคีทดสอบ {partner}", partner, f"{MONTHS[month - 1]} 2568", "BENCHMARK")
        ws.append(HEADERS)
        bad = rng.random() < 0.02
        for a in range(int(rng.integers(1, 5))):
            total = int(rng.integers(10, 400))
            female = int(rng.binomial(total, 0.5))
            day = int(rng.integers(1, 29))
            row = [a + 1, partner, f"{MONTHS[month - 1]} 2568", ACE[int(rng.integers(0, 6))],
                   TYPES[int(rng.integers(0, 6))], f"กิจกรรมที่ {a + 1}", PROVINCES[int(rng.integers(0, 8))], None,
                   f"{day:02d}/{month:02d}/2568", total, female, total - female, int(rng.binomial(total, 0.3)),
                   round(float(rng.uniform(2_000, 150_000)), -2), "ลดก๊าซเรือนกระจก", None, "บทเรียน"]
            if bad and a == 0:
                row[1 if k % 2 else 8] = "P999" if k % 2 else "31/02/2568"
            ws.append(row)
        path = folder / f"{partner}_2025-{month:02d}_{k:05d}.xlsx"
        wb.save(path)
        out.append(path)
    return sorted(out)


def time_openpyxl(files: list[Path]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    import pandas as pd

    t, c = time.perf_counter(), time.process_time()
    for f in files:
        pd.read_excel(f, engine="openpyxl")
    return time.perf_counter() - t, time.process_time() - c


def time_phakhi(files: list[Path], root: Path, workers: int) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of this process, totals). With one worker all the work is in this process,
    so its CPU time is the work's; with several, wall time is what counts."""
    from phakhi.ingest.files import assemble_family, ingest_files, shutdown_pool

    shutdown_pool()                                  # the pool's start-up is part of the measured time
    known = {"partner_id": set(PARTNERS)}
    t, c = time.perf_counter(), time.process_time()
    res = assemble_family("activity_reports", ingest_files("activity_reports", files, root, known, workers=workers))
    elapsed, cpu = time.perf_counter() - t, time.process_time() - c
    shutdown_pool()
    return elapsed, cpu, res.totals


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="number of files (default 2000)")
    ap.add_argument("--workers", type=int, default=None, help="Phakhi processes (default: CPU count)")
    ap.add_argument("--dir", type=Path, default=None, help="where the generated files are kept")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    import phakhi  # noqa: F401  (telemetry opt-outs)
    from phakhi.ingest.files import default_workers

    workers = args.workers or default_workers()
    folder = args.dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"phakhi-bench-ingest-{args.n}"
    t = time.perf_counter()
    files = make_files(folder, args.n)
    print(f"{len(files)} partner workbooks in {folder} (ready in {time.perf_counter() - t:.1f}s)")

    # warm the page cache and imports for both sides on a few files
    time_openpyxl(files[:20])
    time_phakhi(files[:20], folder, 1)

    base, base_cpu = time_openpyxl(files)
    one, one_cpu, totals1 = time_phakhi(files, folder, 1)
    par, _, totals = time_phakhi(files, folder, workers)
    assert totals == totals1, (totals, totals1)
    assert totals["rows_read"] == totals["rows_loaded"] + totals["rows_quarantined"] + totals["rows_superseded"]
    n = len(files)
    figures = {
        "files": n, "cpu_count": os.cpu_count(), "workers": workers,
        "openpyxl_s": round(base, 3), "openpyxl_files_per_s": round(n / base, 1),
        "phakhi_1proc_s": round(one, 3), "phakhi_1proc_files_per_s": round(n / one, 1),
        "phakhi_s": round(par, 3), "phakhi_files_per_s": round(n / par, 1),
        "ratio_1proc": round(base / one, 1), "ratio": round(base / par, 1),
        "openpyxl_cpu_s": round(base_cpu, 3), "phakhi_1proc_cpu_s": round(one_cpu, 3),
        "ratio_cpu_1proc": round(base_cpu / one_cpu, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rows_read": totals["rows_read"], "rows_loaded": totals["rows_loaded"],
        "rows_quarantined": totals["rows_quarantined"],
    }
    print(f"\n{'':28}{'seconds':>10}{'files/s':>12}{'ratio':>9}")
    print(f"{'openpyxl (pd.read_excel)':28}{base:10.2f}{n / base:12.0f}{1:9.1f}")
    print(f"{'phakhi, 1 process':28}{one:10.2f}{n / one:12.0f}{base / one:9.1f}")
    print(f"{f'phakhi, {workers} processes':28}{par:10.2f}{n / par:12.0f}{base / par:9.1f}")
    print(f"{'CPU time, one process':28}{base_cpu:10.2f} vs {one_cpu:.2f} -> ratio {base_cpu / one_cpu:.1f}"
          f"   (1-min load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"\nphakhi rows: {totals['rows_read']} read = {totals['rows_loaded']} loaded + "
          f"{totals['rows_quarantined']} quarantined")
    verdict = "meets" if figures["ratio"] >= 10 else "MISSES"
    print(f"ratio {figures['ratio']}x at N={n}: {verdict} the 10x target")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
