"""A landing area shaped like SAMPLE at national size (generated, labelled SAMPLE, never official).

    .venv/bin/python benchmarks/national.py --scale 0.05 --home /tmp/phakhi-nat   # ~400 partners, seconds
    .venv/bin/python benchmarks/national.py --scale 1.0  --home ...               # the whole country

Scale 1.0 = 8,000 partners, ~71,600 monthly activity workbooks (~1M activity rows, ~14 per workbook), ~96,000
GHG rows (one cp874 CSV per month), 2,000 scope 1/2 inventories, 5 survey waves x ~20,000 respondents.
Everything scales linearly with --scale (survey waves too, with at least 3 PSUs per stratum).

The shapes are SAMPLE's (phakhi/sample.py: the registry writer, Thai title block and headers, B.E. dates,
Thai month names, the survey design); partners are spread over every province. Each file draws from its own
random stream keyed by (seed, partner, month), so `--months 11` then `--months 12` adds exactly one new month
and leaves the earlier files' bytes untouched (the incremental-month benchmark relies on it). Workbooks are
written in parallel, one process per core. `--months 12 --resubmissions 40` also has 40 partners resend their
11th month, corrected (`<partner>_<month>_v2.xlsx`): a month as it really arrives, where a resubmission
supersedes a workbook already settled.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from phakhi import sample as S  # noqa: E402

NATIONAL_PARTNERS = 8000
ROWS_PER_WORKBOOK = (1, 28)           # ~14 activities per workbook: 1M rows over ~71,600 workbooks
WAVES = (2017, 2019, 2021, 2023, 2025)
PSU_PER_STRATUM, PER_PSU = 140, 12    # 12 strata x 140 x 12 = 20,160 respondents per wave at scale 1


def national_partners(n: int, seed: int) -> list[S.SamplePartner]:
    """n partners with SAMPLE's type mix and pledge ranges, over every province in the seed."""
    rng = np.random.default_rng([seed, 1])
    prov = S.provinces()
    codes = prov["province_code"].tolist()
    names = prov.set_index("province_code")
    total = sum(c for c, _ in S.PARTNER_MIX.values())
    out, k = [], 0
    for ptype, (count, (lo, hi)) in S.PARTNER_MIX.items():
        for j in range(max(1, round(n * count / total))):
            k += 1
            code = codes[k % len(codes)]    # every province (a stride sharing a factor with 77 missed most)
            th, en = S.TYPE_NAMES[ptype]
            out.append(S.SamplePartner(
                partner_id=f"P{k:04d}", name_th=th.format(p=names.loc[code, "name_th"], n=j + 1),
                name_en=en.format(p=names.loc[code, "name_en"], n=j + 1), partner_type=ptype, province_code=code,
                join=date(2023, 1, 1) + np.timedelta64(int(rng.integers(0, 900)), "D").astype(object),
                base_year=int(rng.choice([2019, 2022, 2023])),
                baseline=round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 1),
                target_year=int(rng.choice([2030, 2030, 2035])), reduction_pct=float(rng.choice([20, 25, 30, 40])),
                net_zero_year=[None, 2050, 2065][int(rng.integers(0, 3))],
                diligence=float(rng.uniform(0.55, 1.0)), performance=float(rng.lognormal(0, 0.45))))
    return out


HEADERS = ["ลำดับ", "รหัสภาคี", "เดือนที่รายงาน", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด",
           "อำเภอ/เขต", "วันที่จัดกิจกรรม", "ผู้เข้าร่วมทั้งหมด", "หญิง", "ชาย", "เยาวชน", "งบประมาณ (บาท)",
           "ด้าน (ลดก๊าซ/ปรับตัว)", "รหัสโครงการลดก๊าซ", "บทเรียนที่ได้รับ"]


def _reports(idx: int, p, period: str, seed: int) -> bool:
    """Whether partner `p` (index `idx`) sent a workbook for `period`, and the stream that drew it said so."""
    y, m = map(int, period.split("-"))
    return not (date(y, m, 28) < p.join or np.random.default_rng([seed, idx, y, m]).random() > p.diligence)


def _write_workbooks(args) -> int:
    """One worker's share: every (partner, month) workbook of the given partners (SAMPLE's layout). With
    version 2, each given (partner, month) gets a resubmission: the same partner-month drawn again from a
    stream of its own, named `..._v2.xlsx` (received later, it supersedes the first workbook)."""
    partners, periods, folder, seed = args[:4]
    version = args[4] if len(args) > 4 else 1
    prov = S.provinces().set_index("province_code")
    n = 0
    for idx, p in partners:
        for period in periods:
            if not _reports(idx, p, period, seed):
                continue
            suffix = "" if version == 1 else f"_v{version}"
            path = folder / period / f"{p.partner_id}_{period}{suffix}.xlsx"
            if not path.exists():        # earlier months stay byte-identical
                _workbook(path, idx, p, period, seed, version, prov)
            n += 1
    return n


def _workbook(path: Path, idx: int, p, period: str, seed: int, version: int, prov) -> None:
    y, m = map(int, period.split("-"))
    aces, acts = list(S.ACE_THAI), list(S.ACTIVITY_THAI)
    rng = np.random.default_rng([seed, idx, y, m] + ([version] if version > 1 else []))
    if version == 1:
        rng.random()                     # the draw `_reports` made (the stream's bytes as before)
    wb, ws = S.activity_report_workbook(p.name_th, p.partner_id, S.thai_month(period))
    ws.append(HEADERS)
    for k in range(int(rng.integers(*ROWS_PER_WORKBOOK))):
        total = int(rng.integers(10, 400))
        female = int(rng.binomial(total, 0.52))
        male = int(rng.binomial(total - female, 0.95))
        day = date(y, m, int(rng.integers(1, 29)))
        tag = ["ลดก๊าซเรือนกระจก", "ปรับตัว", "ทั้งสองด้าน"][int(rng.integers(0, 3))]
        ws.append([k + 1, p.partner_id, S.thai_month(period, abbr=True), S.ACE_THAI[aces[int(rng.integers(0, 6))]],
                   S.ACTIVITY_THAI[acts[int(rng.integers(0, len(acts)))]],
                   S.TITLES[int(rng.integers(0, len(S.TITLES)))], prov.loc[p.province_code, "name_th"], None,
                   S.be_date(day), total, female, male, int(rng.binomial(total, 0.3)),
                   round(float(rng.uniform(2_000, 150_000)), -2), tag,
                   f"{p.partner_id}-G1" if tag != "ปรับตัว" else None,
                   S.LESSONS[int(rng.integers(0, len(S.LESSONS)))]])
    tmp = path.with_suffix(".tmp")
    wb.save(tmp)
    tmp.replace(path)


def write_activity_reports(partners, periods, folder: Path, seed: int, workers: int) -> int:
    for period in periods:
        (folder / period).mkdir(parents=True, exist_ok=True)
    indexed = list(enumerate(partners))
    shares = [(indexed[i::workers * 4], periods, folder, seed) for i in range(workers * 4)]
    if workers == 1:
        return sum(map(_write_workbooks, shares))
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_write_workbooks, shares))


def write_resubmissions(partners, period: str, folder: Path, seed: int, n: int, version: int = 2) -> int:
    """`n` partners (drawn by the seed) who reported `period` send a corrected workbook for it: what a real
    month carries besides its own month (a resubmission supersedes the partner-month's latest workbook).
    `version` 3, 4, ...: the same partners correct it again."""
    order = np.random.default_rng([seed, 2, *map(int, period.split("-"))]).permutation(len(partners))
    chosen = [(int(k), partners[k]) for k in order if _reports(int(k), partners[k], period, seed)][:n]
    return _write_workbooks((chosen, [period], folder, seed, version))


def write_ghg(partners, periods, folder: Path, seed: int) -> int:
    """One cp874 CSV per month, SAMPLE's columns; energy projects report kWh (converted in dbt)."""
    headers = ["รหัสภาคี", "รหัสโครงการ", "ภาคส่วน", "เดือน", "ปริมาณก๊าซที่ลดได้ (tCO2e)", "ข้อมูลกิจกรรม", "หน่วย",
               "มาตรฐาน", "เลขที่การรับรอง", "สถานะการทวนสอบ"]
    sectors = {"pao": "ของเสีย", "municipality": "ของเสีย", "sao": "เกษตร", "special_lg": "พลังงาน", "business": "พลังงาน",
               "tourism": "พลังงาน", "agriculture": "เกษตร", "education": "พลังงาน",
               "civil_society": "การใช้ที่ดินและป่าไม้", "government_agency": "พลังงาน"}
    methods = [("T-VER", "ทวนสอบแล้ว"), ("LESS", "ทวนสอบแล้ว"), ("CFO", "รอทวนสอบ"), ("ประเมินเอง", "รายงานเอง")]
    rng0 = np.random.default_rng([seed, 2])
    projects = {p.partner_id: methods[int(rng0.integers(0, len(methods)))] for p in partners}
    rows_total = 0
    for period in periods:
        path = folder / f"ghg_{period}.csv"
        y, m = map(int, period.split("-"))
        rng = np.random.default_rng([seed, 3, y, m])
        rows = []
        for p in partners:
            # ~93,000 rows a year at scale 1 (8,000 partners x 12 months x ~0.78 sending x 1.25 projects)
            if rng.random() > p.diligence:
                continue
            for g in range(1 + (rng.random() < 0.25)):
                monthly = S.required_annual(p, y) * p.performance / 12 * float(rng.uniform(0.8, 1.2))
                method, status = projects[p.partner_id]
                cred = f"{method}-{p.partner_id}-2567" if method != "ประเมินเอง" else ""
                project = f"{p.partner_id}-G{g + 1}"
                if sectors[p.partner_type] == "พลังงาน" and p.partner_type != "special_lg":
                    rows.append([p.partner_id, project, "พลังงาน", S.thai_month(period, abbr=True), "",
                                 f"{monthly * 1000 / 0.4999:,.0f}", "กิโลวัตต์ชั่วโมง", method, cred, status])
                else:
                    rows.append([p.partner_id, project, sectors[p.partner_type], S.thai_month(period, abbr=True),
                                 f"{monthly:,.2f}", "", "", method, cred, status])
        rows_total += len(rows)
        if not path.exists():
            with path.open("w", encoding="cp874", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(headers)
                w.writerows(rows)
    return rows_total


def write_survey(folder: Path, scale: float, seed: int) -> int:
    psu = max(3, round(PSU_PER_STRATUM * scale))
    n = 0
    for wave in WAVES:
        path = folder / f"wave_{wave}.csv"
        df = S.survey_wave(wave, np.random.default_rng([seed, 4, wave]), psu_per_stratum=psu, per_psu=PER_PSU)
        n += len(df)
        if not path.exists():
            df.to_csv(path, index=False, encoding="utf-8")
    return n


def generate(landing: Path, scale: float = 0.05, months: int = 12, seed: int = S.SEED,
             workers: int | None = None, resubmissions: int = 0) -> dict:
    """Write (or complete) the national landing area under `landing`; returns what it holds. With
    `resubmissions`, that many partners also resend the month before the last one, corrected."""
    if not 0 < scale <= 1.0:
        raise ValueError("--scale must be in (0, 1]")
    if not 1 <= months <= 12:
        raise ValueError("--months must be 1..12")
    workers = workers or max(1, os.cpu_count() or 1)
    periods = S.PERIODS[:months]
    landing = Path(landing)
    folders = {f: landing / f for f in ("partner_registry", "activity_reports", "ghg_reductions", "survey_waves",
                                        "partner_inventories")}
    for f in folders.values():
        f.mkdir(parents=True, exist_ok=True)
    (landing / "SAMPLE_README.txt").write_text(
        f"{S.SAMPLE_NOTE_EN} (national-scale benchmark, scale={scale})\n{S.SAMPLE_NOTE_TH}\nseed={seed}\n",
        encoding="utf-8")
    partners = national_partners(max(10, math.ceil(NATIONAL_PARTNERS * scale)), seed)
    if not (folders["partner_registry"] / "partner_registry.csv").exists():
        S.write_registry(partners, folders["partner_registry"])
    n_act = write_activity_reports(partners, periods, folders["activity_reports"], seed, workers)
    n_resent = write_resubmissions(partners, periods[-2], folders["activity_reports"], seed, resubmissions) \
        if resubmissions and months > 1 else 0
    ghg_rows = write_ghg(partners, periods, folders["ghg_reductions"], seed)
    respondents = write_survey(folders["survey_waves"], scale, seed)
    if not any(folders["partner_inventories"].iterdir()):
        n_inv = S.write_inventories(partners, folders["partner_inventories"], seed)
    else:
        n_inv = sum(1 for _ in folders["partner_inventories"].iterdir())
    return {"scale": scale, "months": months, "partners": len(partners), "activity_files": n_act + n_resent,
            "resubmissions": n_resent,
            "ghg_rows": ghg_rows, "inventory_files": n_inv, "survey_waves": len(WAVES), "respondents": respondents}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.05, help="1.0 = the whole country (8,000 partners)")
    ap.add_argument("--months", type=int, default=12, help="months of 2025 to write (1-12; add one later = new month)")
    ap.add_argument("--home", type=Path, required=True, help="PHAKHI_HOME to write into (its landing/ folder)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--resubmissions", type=int, default=0,
                    help="partners who also resend the month before the last one, corrected (a real month's mix)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    counts = generate(args.home / "landing", args.scale, args.months, workers=args.workers,
                      resubmissions=args.resubmissions)
    print(f"{counts} in {time.perf_counter() - t:.1f}s under {args.home / 'landing'}")
    return counts


if __name__ == "__main__":
    main()
