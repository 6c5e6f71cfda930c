"""Render the publication's dashboard page(s) from the marts (Jinja2 templates in dashboards/)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from flows.config import DASHBOARDS_DIR

THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")

# Labels shown on the dashboard: (Thai, English)
LABELS = {
    "title": ("ภาคี — ความก้าวหน้าของภาคีด้านการเปลี่ยนแปลงสภาพภูมิอากาศ", "Phakhi — climate partners' progress"),
    "publisher": ("กรมการเปลี่ยนแปลงสภาพภูมิอากาศและสิ่งแวดล้อม (ทส.)", "Department of Climate Change and Environment (DCCE)"),
    "period": ("เดือนข้อมูล", "Data month"),
    "on_track": ("เป็นไปตามเป้า", "On track"),
    "off_track": ("ต่ำกว่าเป้า", "Off track"),
    "no_data": ("ไม่มีข้อมูล", "No data"),
    "partners": ("ภาคี", "Partners"),
    "partner_progress": ("ความก้าวหน้าของภาคีเทียบกับคำมั่น", "Partner progress against pledge"),
    "awareness": ("ดัชนีความตระหนักรู้ด้านการเปลี่ยนแปลงสภาพภูมิอากาศ", "Climate awareness index"),
    "drift": ("การเปลี่ยนแปลงของคำตอบรายข้อเทียบกับรอบฐาน", "Item-level change versus the baseline wave"),
    "quality": ("คุณภาพข้อมูล", "Data quality"),
    "downloads": ("ดาวน์โหลดข้อมูลเปิด", "Open-data downloads"),
    "sample": ("ข้อมูลตัวอย่าง: ไม่ใช่ข้อมูลจริง", "SAMPLE DATA: not real partner or survey data"),
}
STATUS = {"on_track": LABELS["on_track"], "off_track": LABELS["off_track"], "no_data": LABELS["no_data"]}
MEASURES = {"awareness_index": ("ดัชนีรวม", "Overall index"), "knowledge": ("ความรู้", "Knowledge"),
            "concern": ("ความกังวลต่อผลกระทบ", "Concern about impacts"), "behaviour": ("พฤติกรรม", "Behaviour")}
DOMAINS = {"overall": ("ทั้งประเทศ", "National"), "region": ("ภาค", "Region"), "sex": ("เพศ", "Sex"),
           "urban_rural": ("เขตการปกครอง", "Urban/rural"), "age_group": ("กลุ่มอายุ", "Age group")}
VALUES = {"north": ("ภาคเหนือ", "North"), "northeast": ("ภาคตะวันออกเฉียงเหนือ", "Northeast"),
          "central": ("ภาคกลาง", "Central"), "east": ("ภาคตะวันออก", "East"), "west": ("ภาคตะวันตก", "West"),
          "south": ("ภาคใต้", "South"), "male": ("ชาย", "Male"), "female": ("หญิง", "Female"),
          "other": ("อื่น ๆ", "Other"), "urban": ("ในเขตเทศบาล", "Urban"), "rural": ("นอกเขตเทศบาล", "Rural"),
          "all": ("ทั้งหมด", "All")}


def thai_number(value, digits: int = 1) -> str:
    """A number in Thai digits with thousands separators (the Thai view shows Thai digits)."""
    return fmt(value, digits).translate(THAI_DIGITS)


def fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return f"{value:,.{digits}f}"


def be_year(year: int) -> int:
    return int(year) + 543


def render_site(out_dir: Path, context: dict) -> list[Path]:
    env = Environment(loader=FileSystemLoader(DASHBOARDS_DIR), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, thai_number=thai_number, be_year=be_year)
    env.globals.update(L=LABELS, STATUS=STATUS, MEASURES=MEASURES, DOMAINS=DOMAINS, VALUES=VALUES)
    path = out_dir / "index.html"
    path.write_text(env.get_template("index.html.j2").render(**context), encoding="utf-8")
    return [path]
