"""Security of the partner portal: isolation between partners on every URL, staff-only pages, CSRF,
upload limits and payloads, Argon2 hashes, login throttling, session expiry, no secret in the repository."""
import re
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import activity_csv

REPO = Path(__file__).resolve().parents[2]


def login(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def upload(client, pid, content: bytes, name="report.csv", family="activity_reports"):
    return client.post(reverse("upload", kwargs={"partner_id": pid}),
                       {"family": family, "file": SimpleUploadedFile(name, content, "text/csv")})


def landed(home) -> list[Path]:
    return sorted(p for p in home.landing.rglob("*") if p.is_file() and not p.name.startswith("."))


def _partner_urls(pid, sub_pk):
    from portal.urls import partner

    out = []
    for pattern in partner:
        kwargs = {"partner_id": pid}
        names = set(pattern.pattern.converters)
        if "pk" in names:
            kwargs["pk"] = sub_pk
        if "family" in names:
            kwargs["family"] = "activity_reports"
        out.append(reverse(pattern.name, kwargs=kwargs))
    return out


def test_every_partner_url_refuses_another_partners_id(world):
    from portal.review.models import Reply

    c2 = login(Client(), world["u2"])
    r = upload(c2, "P002", activity_csv("P002"))
    sub_pk = int(r.url.rstrip("/").rsplit("/", 1)[-1])
    Reply.objects.create(partner=world["p2"], period="2025-12", run_id="r1", figure="activities_12m",
                         reply="dispute", comment="ต่ำกว่าจริง", replied_by=world["u2"])
    urls = _partner_urls("P002", sub_pk)
    assert len(urls) >= 6
    c1 = login(Client(), world["u1"])
    for url in urls:
        assert c1.get(url).status_code == 404, url
        assert c1.post(url, {"family": "activity_reports", "figure": "activities_12m", "reply": "confirm"}).status_code == 404, url
    # P002's upload through P001's own URL is not found either (the object must belong to the URL's partner)
    assert c1.get(reverse("submission", kwargs={"partner_id": "P001", "pk": sub_pk})).status_code == 404
    # ... and P002 still sees its own pages
    for url in urls:
        assert c2.get(url).status_code == 200, url
    # nothing P001 did reached P002's data
    assert Reply.objects.get(partner=world["p2"]).reply == "dispute"
    assert len(landed(world["home"])) == 1


def test_anonymous_users_are_sent_to_login(world):
    c = Client()
    for url in _partner_urls("P001", 1) + [reverse("console"), reverse("console_export")]:
        r = c.get(url)
        assert r.status_code == 302 and r.url.startswith(reverse("login")), url


def test_staff_only_pages_refuse_partners(world):
    c = login(Client(), world["u1"])
    assert c.get(reverse("console")).status_code == 403
    assert c.get(reverse("console_export")).status_code == 403
    assert c.post(reverse("approve"), {"run_id": "x"}).status_code == 403
    assert c.post(reverse("resolve", kwargs={"pk": 1})).status_code == 403
    r = c.get("/admin/accounts/partner/")
    assert r.status_code == 302 and "/admin/login/" in r.url
    s = login(Client(), world["staff"])
    assert s.get(reverse("console")).status_code == 200
    # staff may look at a partner's page but never act for it
    assert s.get(reverse("progress", kwargs={"partner_id": "P001"})).status_code == 200
    assert upload(s, "P001", activity_csv("P001")).status_code == 404


def test_csrf_is_enforced_on_every_form(world):
    c = Client(enforce_csrf_checks=True)
    assert c.post(reverse("login"), {"username": "p1@example.org", "password": "Correct-horse-9"}).status_code == 403
    login(c, world["u1"])
    assert upload(c, "P001", activity_csv()).status_code == 403
    assert c.post(reverse("review", kwargs={"partner_id": "P001"}), {"figure": "activities_12m",
                                                                     "reply": "confirm"}).status_code == 403
    assert c.post(reverse("set_language"), {"language": "en"}).status_code == 403
    assert c.post(reverse("logout")).status_code == 403
    s = login(Client(enforce_csrf_checks=True), world["staff"])
    assert s.post(reverse("approve"), {"run_id": "x"}).status_code == 403
    assert not landed(world["home"])
    # with the token from the form, the same upload goes through
    page = c.get(reverse("upload", kwargs={"partner_id": "P001"}))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    r = c.post(reverse("upload", kwargs={"partner_id": "P001"}),
               {"csrfmiddlewaretoken": token, "family": "activity_reports",
                "file": SimpleUploadedFile("r.csv", activity_csv(), "text/csv")})
    assert r.status_code == 302 and len(landed(world["home"])) == 1


def test_upload_above_the_limit_is_refused(world, settings):
    settings.PORTAL_MAX_UPLOAD_BYTES = 2000
    c = login(Client(), world["u1"])
    big = activity_csv(rows=[f"P001,2025-12,{i},education,workshop,Class {i},TH-10,30" for i in range(1, 200)])
    r = upload(c, "P001", big)
    assert r.status_code in (200, 413)
    assert not landed(world["home"])
    from portal.submissions.models import Submission
    assert not Submission.objects.exists()


@pytest.mark.parametrize("name,content", [
    ("report.exe", b"MZ\x90\x00binary"), ("report.html", b"<html><script>alert(1)</script></html>"),
    ("report.csv", b"MZ\x90\x00\x00\x00binary\x00\x00"), ("report.xlsx", b"not a zip at all")])
def test_wrong_type_is_refused(world, name, content):
    c = login(Client(), world["u1"])
    r = upload(c, "P001", content, name=name)
    assert not landed(world["home"])
    if r.status_code == 302:             # passed the form (allowed suffix): the contract reader refused it
        from portal.submissions.models import Submission
        assert Submission.objects.get().status == "refused"
    else:
        assert r.status_code == 200 and b"errorlist" in r.content


@pytest.mark.parametrize("name", ["../../../etc/evil.csv", "..\\..\\evil.csv", "/tmp/abs.csv", "sub/../../x.csv",
                                  ".hidden.csv", "ok\x00.csv"])
def test_path_traversal_names_never_become_paths(world, name):
    c = login(Client(), world["u1"])
    upload(c, "P001", activity_csv(), name=name)
    files = landed(world["home"])
    assert len(files) == 1
    f = files[0]
    assert f.resolve().is_relative_to(world["home"].landing_for("activity_reports").resolve())
    assert re.fullmatch(r"P001_\d{8}T\d+Z_[0-9a-f]{12}\.csv", f.name)
    assert not (Path("/etc/evil.csv").exists() or Path("/tmp/abs.csv").exists())
    from portal.submissions.models import Submission
    assert "/" not in Submission.objects.get().original_name and ".." not in Submission.objects.get().original_name


@pytest.mark.parametrize("title", ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0",
                                   "@SUM(1+1)", "<script>alert('x')</script>", '<img src=x onerror="alert(1)">'])
def test_formula_and_html_payloads_are_refused_and_never_echoed(world, title):
    c = login(Client(), world["u1"])
    quoted = '"' + title.replace('"', '""') + '"'
    r = upload(c, "P001", activity_csv(rows=[f"P001,2025-12,1,education,workshop,{quoted},TH-10,30"]))
    assert not landed(world["home"])
    page = c.get(r.url).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    from portal.submissions.models import Submission
    s = Submission.objects.get()
    assert s.status == "refused" and s.problems[0]["rule"] in ("formula", "html")


def test_a_file_for_another_partner_is_refused(world):
    c = login(Client(), world["u1"])
    r = upload(c, "P001", activity_csv("P002"))
    assert not landed(world["home"])
    page = c.get(r.url).content.decode()
    assert "P002" in page
    mixed = activity_csv(rows=["P001,2025-12,1,education,workshop,A,TH-10,30", "P999,2025-12,2,education,workshop,B,TH-10,30"])
    upload(c, "P001", mixed)
    assert not landed(world["home"])


def test_passwords_are_stored_as_argon2_hashes(world):
    from django.contrib.auth import get_user_model

    for u in get_user_model().objects.all():
        assert u.password.startswith("argon2$argon2id$"), u.password[:20]
        assert "Correct-horse-9" not in u.password


def test_login_is_rate_limited(world):
    c = Client()
    for _ in range(5):
        c.post(reverse("login"), {"username": "p1@example.org", "password": "wrong-password"})
    r = c.post(reverse("login"), {"username": "p1@example.org", "password": "Correct-horse-9"})
    assert r.status_code in (403, 429)
    assert "_auth_user_id" not in c.session
    other = Client().post(reverse("login"), {"username": "p2@example.org", "password": "Correct-horse-9"})
    assert other.status_code == 302           # another account is not locked


def test_sessions_expire(world, settings):
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    c = Client()
    assert c.post(reverse("login"), {"username": "p1@example.org", "password": "Correct-horse-9"}).status_code == 302
    assert c.get(reverse("progress", kwargs={"partner_id": "P001"})).status_code == 200
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    r = c.get(reverse("progress", kwargs={"partner_id": "P001"}))
    assert r.status_code == 302 and r.url.startswith(reverse("login"))


def test_invitation_link_works_once(world):
    from portal.accounts.invite import invite

    link = invite("P001", "new@example.org", "http://testserver")
    path = link.replace("http://testserver", "")
    c = Client()
    r = c.get(path)                               # Django swaps the token into the session, then redirects
    assert r.status_code == 302
    form_url = r.url
    r = c.post(form_url, {"new_password1": "Khao-niao-mamuang-42", "new_password2": "Khao-niao-mamuang-42"})
    assert r.status_code == 302
    assert Client().post(reverse("login"), {"username": "new@example.org",
                                            "password": "Khao-niao-mamuang-42"}).status_code == 302
    again = Client().get(path, follow=True)
    assert again.context["validlink"] is False
    from portal.accounts.invite import InviteError
    with pytest.raises(InviteError):
        invite("P002", "new@example.org")         # one user, one partner


def test_no_secret_in_the_repository(world):
    from django.conf import settings

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    key = settings.SECRET_KEY
    assert len(key) >= 50
    for rel in tracked:
        p = REPO / rel
        if p.suffix in (".py", ".yml", ".yaml", ".toml", ".txt", ".md", ".example", ".conf", ".sh", ".cfg", ".html"):
            text = p.read_text(encoding="utf-8", errors="ignore")
            assert key not in text, rel
            assert not re.search(r"SECRET_KEY\s*=\s*['\"][^'\"]{8,}['\"]", text), rel
    secret_file = settings.PATHS.portal_dir / "secret_key"
    if secret_file.exists():
        assert secret_file.stat().st_mode & 0o077 == 0
        assert not secret_file.resolve().is_relative_to(REPO.resolve()) or "var" in secret_file.parts
