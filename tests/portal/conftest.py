"""Portal tests: Django's test client (pytest-django) on a throwaway database, PHAKHI_HOME per test."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402
import pytest  # noqa: E402

django.setup()          # after tests/conftest.py pointed PHAKHI_HOME at the session's temporary folder

ACTIVITY_HEADER = "partner_id,period,activity_no,ace_element,activity_type,title,province_code,participants_total\n"


def activity_csv(partner_id="P001", period="2025-12", rows=None) -> bytes:
    rows = rows or [f"{partner_id},{period},1,education,workshop,Waste sorting class,TH-10,30",
                    f"{partner_id},{period},2,training,training_course,Solar rooftop course,TH-10,25"]
    return (ACTIVITY_HEADER + "\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture
def phakhi_home(tmp_path, monkeypatch):
    from phakhi.settings import use_home

    monkeypatch.setenv("PHAKHI_HOME", str(tmp_path / "home"))
    return use_home(tmp_path / "home")


def make_partner(pid: str, **kw):
    from datetime import date

    from portal.accounts.models import Partner

    defaults = dict(name_th=f"ภาคี {pid} (ตัวอย่าง)", name_en=f"Partner {pid}", partner_type="municipality",
                    province_code="TH-10", join_date=date(2024, 1, 15), pledge_base_year=2020,
                    baseline_tco2e=1000.0, target_year=2030, reduction_pct=30.0,
                    contact_name=f"Contact {pid}", contact_email=f"{pid.lower()}@example.invalid")
    defaults.update(kw)
    return Partner.objects.create(partner_id=pid, **defaults)


def make_user(email: str, partner=None, staff=False, password="Correct-horse-9"):
    from django.contrib.auth import get_user_model

    from portal.accounts.models import Membership

    user = get_user_model().objects.create_user(username=email, email=email, password=password, is_staff=staff)
    if partner is not None:
        Membership.objects.create(user=user, partner=partner)
    return user


@pytest.fixture
def world(db, phakhi_home):
    """Two partners with one user each, and a DCCE staff user."""
    p1, p2 = make_partner("P001"), make_partner("P002")
    return {"home": phakhi_home, "p1": p1, "p2": p2, "u1": make_user("p1@example.org", p1),
            "u2": make_user("p2@example.org", p2), "staff": make_user("staff@dcce.example", staff=True)}
