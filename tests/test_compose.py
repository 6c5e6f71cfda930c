"""The production stack, checked statically (no Docker engine here): docker-compose.yml, Dockerfile, .env.example,
deploy/ and prefect.yaml must agree with each other and with the code — every service has an image or a build
and a health check, named volumes back the warehouse and publications, every command they name exists (with the
options used), every file they reference exists, every variable they use is documented, and no secret is
written in them."""
import ast
import re
import shlex
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PREFECT_YAML = yaml.safe_load((REPO / "prefect.yaml").read_text())
ENTRYPOINT = REPO / "deploy" / "worker-entrypoint.sh"
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|API_KEY", re.I)


def _env_example() -> dict[str, str]:
    out = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def _as_list(cmd) -> list[str]:
    return list(cmd) if isinstance(cmd, list) else shlex.split(cmd)


def _exe(name: str) -> str:
    local = BIN / name
    return str(local) if local.exists() else (shutil.which(name) or name)


@lru_cache(maxsize=None)
def _help(*words: str) -> str:
    proc = subprocess.run([_exe(words[0]), *words[1:], "--help"], capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "DO_NOT_TRACK": "1", "COLUMNS": "200",
                               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HOME": str(REPO / ".venv")})
    assert proc.returncode == 0, f"`{' '.join(words)} --help` failed: {proc.stderr[-500:]}"
    return proc.stdout


def _check_command(argv: list[str]) -> None:
    """`prefect --no-prompt work-pool create NAME --type process` → `prefect` knows --no-prompt, the subcommand
    `work-pool create` exists and knows --type."""
    tool, rest = argv[0], list(argv[1:])
    while rest and rest[0].startswith("-"):                 # global options come before the subcommand
        opt = rest.pop(0)
        assert opt in _help(tool), f"`{tool}` has no global option {opt}"
    sub = []
    for tok in rest:
        if tok.startswith("-") or "$" in tok or "/" in tok or ":" in tok:
            break
        sub.append(tok)
    # positional arguments (a pool name, a scheduler address) are not subcommands: trim until help works
    while True:
        try:
            text = _help(tool, *sub)
            break
        except AssertionError:
            if not sub:
                raise
            sub.pop()
    for opt in (t.split("=")[0] for t in rest if t.startswith("--")):
        assert opt in text, f"`{tool} {' '.join(sub)}` has no option {opt}"


def _entrypoint_commands() -> list[list[str]]:
    cmds = []
    for line in ENTRYPOINT.read_text().splitlines():
        m = re.match(r"^\s*(?:exec\s+)?((?:prefect|phakhi|dask)\s.*)$", line)
        if m:
            argv = shlex.split(re.split(r"\s(?:>|\|\||&&)", m.group(1))[0])
            cmds.append(argv)
    return cmds


# ---------------------------------------------------------------- services
def test_services_and_images():
    assert {"postgres", "prefect-server", "worker", "web"} <= set(SERVICES)
    for name, svc in SERVICES.items():
        assert svc.get("image") or svc.get("build"), f"{name} has neither image nor build"
        image = svc.get("image", "")
        if "build" not in svc:
            assert re.search(r":[\w.\-]*\d", image) and not image.endswith(":latest"), f"{name}: pin {image!r}"
    # one image, built from this repo, for every Python service: server and worker speak the same Prefect version
    for name in ("prefect-server", "worker"):
        assert SERVICES[name]["build"] == "." and SERVICES[name]["image"].startswith("phakhi:")
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["web"]["image"].startswith("nginx:")


def test_every_service_has_a_healthcheck_and_dependencies_wait_for_health():
    for name, svc in SERVICES.items():
        hc = svc.get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), f"{name} has no health check"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            assert cond["condition"] == "service_healthy"
    assert "postgres" in SERVICES["prefect-server"]["depends_on"]
    assert "prefect-server" in SERVICES["worker"]["depends_on"]


def test_prefect_server_on_postgres():
    env = SERVICES["prefect-server"]["environment"]
    url = env["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
    assert _as_list(SERVICES["prefect-server"]["command"])[:3] == ["prefect", "server", "start"]
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert SERVICES["worker"]["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    import asyncpg  # noqa: F401  (the image installs constraints.txt: the server's Postgres driver is in it)


def test_named_volumes_for_warehouse_publications_and_postgres():
    declared = set(COMPOSE["volumes"])
    assert {"warehouse", "publications", "postgres-data"} <= declared
    mounts = {}
    for name, svc in SERVICES.items():
        for v in svc.get("volumes", []):
            src, dst = v.split(":")[:2]
            mounts.setdefault(name, {})[dst] = src
            if not src.startswith((".", "/")):
                assert src in declared, f"{name} mounts undeclared volume {src}"
            else:
                assert (REPO / src).exists(), f"{name} mounts missing file {src}"
    assert mounts["worker"]["/data/warehouse"] == "warehouse"
    assert mounts["worker"]["/data/publications"] == "publications"
    assert mounts["postgres"]["/var/lib/postgresql/data"] == "postgres-data"
    web_root = mounts["web"]
    assert web_root["/srv/publications"] == "publications" and SERVICES["web"]["volumes"][0].endswith(":ro")
    # the worker writes where PHAKHI_HOME says
    assert SERVICES["worker"]["environment"]["PHAKHI_HOME"] == "/data"


def test_nginx_config_serves_latest_from_the_mounted_volume():
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    web_mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["web"]["volumes"]}
    assert web_mounts["/etc/nginx/conf.d/default.conf"] == "./deploy/nginx.conf"
    assert re.search(r"^\s*root\s+/srv/publications/latest;", conf, re.M)
    assert "location = /healthz" in conf
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert conf.count("{") == conf.count("}")
    directives = "\n".join(line.split("#")[0] for line in conf.splitlines())
    assert "open_file_cache" not in directives   # `latest` must be resolved on every request


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed (apt-get install nginx-light)")
def test_nginx_config_parses(tmp_path):
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid; error_log stderr; events {{}} http {{ access_log off; "
                    f"client_body_temp_path {tmp_path}; include {REPO / 'deploy' / 'nginx.conf'}; }}\n")
    proc = subprocess.run(["nginx", "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- commands named
def test_commands_named_exist_with_their_options():
    named = [_as_list(s["command"]) for s in SERVICES.values() if s.get("command")]
    for argv in named + _entrypoint_commands():
        if argv[0] in ("prefect", "phakhi", "dask"):
            _check_command([a for a in argv if "${" not in a])
        else:
            path = REPO / argv[0]
            assert path.is_file(), f"command {argv[0]} is not a file in the repo"
            assert path.stat().st_mode & 0o111, f"{argv[0]} is not executable"
    # the script starts the worker on the pool that prefect.yaml deploys to, with its health endpoint
    cmds = _entrypoint_commands()
    pool = re.search(r'^POOL=(\S+)', ENTRYPOINT.read_text(), re.M).group(1)
    assert all(d["work_pool"]["name"] == pool for d in PREFECT_YAML["deployments"])
    assert any(c[:3] == ["prefect", "worker", "start"] and "--with-healthcheck" in c for c in cmds)
    assert any(c[:2] == ["prefect", "--no-prompt"] and "deploy" in c for c in cmds)
    assert "8080/health" in " ".join(SERVICES["worker"]["healthcheck"]["test"])


def test_phakhi_subcommands_named_in_docs_and_stack_exist():
    from typer.main import get_command

    from phakhi.cli import app

    top = get_command(app).commands
    texts = [ENTRYPOINT.read_text(), (REPO / "docker-compose.yml").read_text()]
    texts += [p.read_text() for p in (REPO / "docs").glob("*.md") if p.name in ("operations.md", "scaling.md")]
    for text in texts:
        for sub in re.findall(r"\bphakhi\s+([a-z][a-z\-]+)\b", text):
            assert sub in top, f"`phakhi {sub}` is named but is no command"
    assert {"refresh", "backfill", "sample", "publications"} <= set(top)
    assert {"list", "rollback"} <= set(top["publications"].commands)


# ---------------------------------------------------------------- environment and secrets
def test_every_variable_used_is_in_env_example():
    text = (REPO / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = _env_example()
    missing = used - set(example)
    assert not missing, f"add to .env.example: {sorted(missing)}"
    assert "POSTGRES_PASSWORD" in used


def test_no_secret_is_written_in_the_stack():
    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and SECRETISH.search(k) and isinstance(v, (str, int)) and str(v):
                    assert str(v).startswith("${"), f"{where}.{k} must come from .env, not be written here"
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")
    walk(COMPOSE, "compose")
    for name, svc in SERVICES.items():
        for key, value in (svc.get("environment") or {}).items():
            if "://" in str(value) and "@" in str(value):           # credentials inside a URL
                creds = str(value).split("://", 1)[1].rsplit("@", 1)[0]
                assert re.sub(r"\$\{[^}]*\}", "", creds) == ":", f"{name}.{key} embeds a credential"
    for key, value in _env_example().items():
        if SECRETISH.search(key):
            assert value in ("", "change-me"), f".env.example must not carry a real {key}"
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def test_ports_bind_to_loopback_by_default():
    example = _env_example()
    for name, svc in SERVICES.items():
        for p in svc.get("ports", []):
            host = p.split(":")[0]
            assert host.startswith("${PHAKHI_BIND_ADDRESS"), f"{name} publishes {p} on every interface"
    assert example["PHAKHI_BIND_ADDRESS"] == "127.0.0.1"


# ---------------------------------------------------------------- Dockerfile
def test_dockerfile():
    text = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M).group(1)
    assert base.startswith("python:3.11"), "the image's Python must be one pyproject.toml allows (3.11/3.12)"
    assert "-c constraints.txt" in text, "install the exact versions CI tests"
    for src in re.findall(r"^COPY\s+(.+)\s+\S+$", text, re.M):
        for f in src.split():
            assert f == "." or (REPO / f).exists(), f"Dockerfile copies missing {f}"
    assert re.search(r"^USER\s+(?!root)\S+", text, re.M), "run as a non-root user"
    assert "PHAKHI_HOME=/data" in text
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


# ---------------------------------------------------------------- prefect.yaml
def test_prefect_yaml_deployment():
    [dep] = PREFECT_YAML["deployments"]
    path, func = dep["entrypoint"].split(":")
    tree = ast.parse((REPO / path).read_text())
    flows = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func]
    assert flows, f"{dep['entrypoint']} not found"
    args = {a.arg for a in flows[0].args.args}
    assert set(dep["parameters"]) <= args
    assert dep["parameters"]["period"] == "previous"
    [sched] = dep["schedules"]
    assert sched["cron"] == "0 2 5 * *" and sched["timezone"] == "Asia/Bangkok" and sched["active"] is True
    limit = dep["concurrency_limit"]
    assert (limit["limit"] if isinstance(limit, dict) else limit) == 1
    import prefect

    assert PREFECT_YAML["prefect-version"] == prefect.__version__
    assert "pull" not in PREFECT_YAML or not PREFECT_YAML["pull"] or PREFECT_YAML["pull"] is None


def test_cron_fires_at_0200_bangkok_on_the_5th():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from cronsim import CronSim

    tz = ZoneInfo(PREFECT_YAML["deployments"][0]["schedules"][0]["timezone"])
    it = CronSim(PREFECT_YAML["deployments"][0]["schedules"][0]["cron"], datetime(2025, 12, 20, tzinfo=tz))
    fires = [next(it) for _ in range(3)]
    assert [f.strftime("%Y-%m-%d %H:%M") for f in fires] == ["2026-01-05 02:00", "2026-02-05 02:00",
                                                               "2026-03-05 02:00"]
    from phakhi.periods import previous_month

    assert [previous_month(f) for f in fires] == ["2025-12", "2026-01", "2026-02"]
