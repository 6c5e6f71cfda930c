"""Benchmark: how long a partner waits for the portal's check of one upload (the contract run on the file,
plus the portal's own checks), by file size.

    .venv/bin/python benchmarks/portal_upload.py                  # 10, 500 and 5,000 activity rows (xlsx)
    .venv/bin/python benchmarks/portal_upload.py --rows 100 1000

Prints rows, file size, best-of-3 wall time and CPU time of portal.submissions.checks.check_file (the same
phakhi.ingest.files.ingest_file the refresh uses). No Django database is needed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_report(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["รหัสภาคี", "เดือนที่รายงาน", "ลำดับ", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด",
               "วันที่จัดกิจกรรม", "ผู้เข้าร่วมทั้งหมด (คน)"])
    for i in range(1, rows + 1):
        ws.append(["P001", "ธ.ค. 2568", i, "การศึกษา", "ประชุมเชิงปฏิบัติการ", f"กิจกรรมที่ {i}", "เชียงใหม่",
                   f"{1 + i % 28}/12/2568", 10 + i % 90])
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10, 500, 5000])
    args = ap.parse_args()
    from portal.submissions.checks import check_file

    print(f"{'rows':>7} {'size_kB':>8} {'wall_s':>8} {'cpu_s':>8} {'rows/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = Path(tmp) / f"r{n}.xlsx"
            make_report(path, n)
            walls, cpus = [], []
            for _ in range(3):
                w, c = time.perf_counter(), time.process_time()
                res = check_file(path, "activity_reports", "P001", {"P001"})
                walls.append(time.perf_counter() - w)
                cpus.append(time.process_time() - c)
            assert res.status == "accepted" and res.rows_loaded == n, (res.status, res.reason_en, res.problems[:2])
            best = min(walls)
            print(f"{n:>7} {path.stat().st_size / 1024:>8.1f} {best:>8.3f} {min(cpus):>8.3f} {n / best:>9.0f}")


if __name__ == "__main__":
    main()
