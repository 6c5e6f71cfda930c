"""Real-shaped partner files (no SAMPLE marks) for the "first day with real data" tests and walk-through:
what DCCE receives, in Thai headers, cp874 / utf-8-sig, B.E. months - made up here, not real partners."""
import csv
from pathlib import Path

REGISTRY_HEADERS = ["รหัสภาคี", "ชื่อภาคี (ไทย)", "ชื่อภาคี (อังกฤษ)", "ประเภทภาคี", "จังหวัด", "วันที่เข้าร่วม", "ปีฐาน",
                    "การปล่อยปีฐาน (tCO2e)", "ปีเป้าหมาย", "เป้าหมายการลด (%)", "รหัสภาคีแม่"]
REGISTRY_ROWS = [
    ["P201", "เทศบาลนครลำปาง", "Lampang City Municipality", "เทศบาลนคร", "ลำปาง", "12/01/2568", "2566", "18000", "2030", "20", ""],
    ["P202", "บริษัท พลังงานสะอาดภาคตะวันออก จำกัด", "Eastern Clean Energy Co., Ltd.", "ภาคเอกชน", "ระยอง", "01/02/2568", "2565", "42000", "2030", "30", ""],
    ["P203", "องค์การบริหารส่วนตำบลหนองบัว", "Nong Bua SAO", "อบต.", "Nakhon Sawan", "2025-03-01", "2023", "900", "2030", "15", ""],
    ["P204", "โรงเรียนบ้านหนองบัว", "Ban Nong Bua School", "โรงเรียน", "นครสวรรค์", "2025-03-01", "2023", "120", "2030", "10", "P203"],
]
GHG_HEADERS = ["รหัสภาคี", "รหัสโครงการ", "ภาคส่วน", "เดือน", "ปริมาณก๊าซที่ลดได้ (tCO2e)", "ข้อมูลกิจกรรม", "หน่วย",
               "มาตรฐาน", "เลขที่การรับรอง", "สถานะการทวนสอบ"]
# (row, what should happen)
GHG_JUNE = [
    ["P201", "P201-SOLAR", "พลังงาน", "มิ.ย. 2568", "", "120,000", "หน่วย", "ประเมินเอง", "", "รายงานเอง"],   # kWh
    ["P201", "P201-EV", "พลังงาน", "มิ.ย. 2568", "", "4,500", "ลิตรเบนซิน", "LESS", "LESS-6801-0042", "ทวนสอบแล้ว"],  # petrol
    ["P203", "P203-BANK", "ของเสีย", "มิ.ย. 2568", "", "35", "ตันขยะ", "ประเมินเอง", "", "รายงานเอง"],     # waste
    ["P202", "P202-WHR", "พลังงาน", "มิ.ย. 2568", "812.5", "", "", "T-VER", "TVER-2565-0117", "ทวนสอบแล้ว"],
    ["P202", "P202-LABEL", "กระบวนการอุตสาหกรรม", "มิ.ย. 2568", "40", "", "", "CFR", "CFR-6702-15", "รอทวนสอบ"],
    ["P201", "P201-OLD", "พลังงาน", "ม.ค. 2565", "", "900", "ลิตรเบนซิน", "ประเมินเอง", "", "รายงานเอง"],   # no factor in 2022-01
]
GHG_AUGUST = [["P202", "P202-WHR", "พลังงาน", "ส.ค. 2568", "9,999", "", "", "T-VER", "TVER-2565-0117", "ทวนสอบแล้ว"]]
ACTIVITY_HEADERS = ["รหัสภาคี", "เดือน", "ลำดับ", "องค์ประกอบ ACE", "ประเภทกิจกรรม", "ชื่อกิจกรรม", "จังหวัด", "จำนวนผู้เข้าร่วม"]
ACTIVITIES = [
    ["P201", "มิ.ย. 2568", "1", "public_awareness", "campaign", "รณรงค์ลดใช้ถุงพลาสติกในตลาดสด", "ลำปาง", "230"],
    ["P203", "มิ.ย. 2568", "1", "education", "workshop", "อบรมธนาคารขยะชุมชน", "นครสวรรค์", "48"],
    ["P204", "มิ.ย. 2568", "1", "education", "school_program", "ห้องเรียนโลกร้อน", "นครสวรรค์", "65"],
]
PETROL = (4_500, 2.2394)       # litres, TGO kgCO2e/L (seed tgo_cfo_2022_gasoline_mobile)
WASTE = (35, 840.0)            # tonnes, kgCO2e/t (seed ipcc2006_waste_landfill_avoided)


def write_csv(path: Path, headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


def registry_upload(folder: Path) -> Path:
    return write_csv(folder / "dcce_partners_2568.csv", REGISTRY_HEADERS, REGISTRY_ROWS)


def monthly_files(landing: Path) -> list[Path]:
    return [write_csv(landing / "ghg_reductions" / "dcce_ghg_2568-06.csv", GHG_HEADERS, GHG_JUNE, "cp874"),
            write_csv(landing / "activity_reports" / "dcce_ace_2568-06.csv", ACTIVITY_HEADERS, ACTIVITIES)]


def survey_waves(landing: Path, seed: int = 13) -> list[Path]:
    """Two awareness waves (baseline 2023 and 2025) of survey microdata, made up for the test with the SAMPLE
    generator's survey model but written as DCCE would receive them (no SAMPLE label). A home without any survey
    wave publishes too (tests/test_real_data_integration.py::test_a_month_without_any_survey_wave_publishes_and_says_so)."""
    import numpy as np

    from phakhi.sample import survey_wave

    rng = np.random.default_rng(seed)
    folder = landing / "survey_waves"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for wave in (2023, 2025):
        path = folder / f"dcce_awareness_{wave}.csv"
        survey_wave(wave, rng).to_csv(path, index=False, encoding="utf-8")
        out.append(path)
    return out


def later_month_file(landing: Path) -> Path:
    return write_csv(landing / "ghg_reductions" / "dcce_ghg_2568-08.csv", GHG_HEADERS, GHG_AUGUST, "cp874")
