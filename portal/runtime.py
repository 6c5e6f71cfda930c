"""What `phakhi portal` needs outside Django's settings: the development secret, the database location,
and running a management command in-process."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret_key(portal_dir: Path, configured: str = "") -> str:
    """PHAKHI_PORTAL_SECRET_KEY when set (production), else a key generated once and kept in
    PHAKHI_HOME/portal/secret_key (mode 0600): never a key written in the repository."""
    if configured:
        return configured
    path = portal_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    portal_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    tmp = path.with_name(f".secret_key.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)          # first writer wins when two processes start at once
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def database(url: str, portal_dir: Path) -> dict:
    """Django's DATABASES['default'] from PHAKHI_PORTAL_DATABASE_URL (postgres://user:pass@host:port/db), else
    SQLite under PHAKHI_HOME/portal/."""
    if not url:
        portal_dir.mkdir(parents=True, exist_ok=True)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(portal_dir / "portal.sqlite3")}
    from urllib.parse import unquote, urlsplit

    u = urlsplit(url)
    if u.scheme not in ("postgres", "postgresql"):
        raise ValueError("PHAKHI_PORTAL_DATABASE_URL must be a postgres:// URL (or unset for SQLite)")
    return {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"), "USER": unquote(u.username or ""),
            "PASSWORD": unquote(u.password or ""), "HOST": u.hostname or "", "PORT": str(u.port or 5432),
            "CONN_MAX_AGE": 60}


def setup() -> None:
    """Configure Django for this process (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def manage(*argv: str, **options) -> None:
    """Run a Django management command in this process (migrate, createsuperuser, runserver, ...)."""
    setup()
    from django.core.management import call_command

    call_command(*argv, **options)
