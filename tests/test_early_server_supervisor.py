"""Prefect's temporary server started by the supervisor (phakhi/supervise.py, phakhi/prefect_api.py): the child
adopts the one it is handed, a configured server still wins, nothing outlives a crash, and the lighter server
settings stay the server's own (issue 17: fixed cost)."""
import os
import subprocess
import sys
import time

import pytest


def _gone(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_light_server_settings_give_way_to_explicit_ones(monkeypatch):
    from phakhi.prefect_api import LIGHT, LIGHT_SERVER_ENV, light_server_env

    for key in LIGHT_SERVER_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv(LIGHT, raising=False)
    assert light_server_env() == LIGHT_SERVER_ENV
    assert all(v == "false" for v in LIGHT_SERVER_ENV.values())
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", "true")     # DCCE's own choice wins
    assert "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED" not in light_server_env()
    monkeypatch.setenv(LIGHT, "0")
    assert light_server_env() == {}


def test_light_server_settings_are_prefect_settings():
    """Each name is one Prefect reads (a misspelt setting would silently leave the service on)."""
    from prefect.settings import Settings

    from phakhi.prefect_api import LIGHT_SERVER_ENV

    known = Settings().to_environment_variables(exclude_unset=False)
    assert set(LIGHT_SERVER_ENV) <= set(known)


def test_the_child_adopts_the_server_it_is_handed_and_signals_it(monkeypatch):
    from phakhi.prefect_api import INHERITED, Inherited, start_early_server

    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        monkeypatch.setenv(INHERITED, f"{fake.pid}:4321")
        early = start_early_server()
        assert isinstance(early.process, Inherited) and early.port == 4321
        assert INHERITED not in os.environ                  # nothing started later believes it owns it
        assert early.process.poll() is None
        early.stop()                                        # signalled (the supervisor reaps it)
        fake.wait(timeout=10)
        assert early.process.poll() is not None
    finally:
        fake.kill()
        fake.wait()


def test_a_configured_server_wins_over_the_handed_one(monkeypatch):
    from phakhi.prefect_api import INHERITED, start_early_server

    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
        monkeypatch.setenv(INHERITED, f"{fake.pid}:4321")
        assert start_early_server() is None
        assert fake.wait(timeout=10) is not None            # the handed server was stopped, not left idle
    finally:
        fake.kill()
        fake.wait()


def test_malformed_handover_is_ignored(monkeypatch):
    from phakhi.prefect_api import INHERITED, inherited_server

    for bad in ("", "x:1", "12", "12:"):
        monkeypatch.setenv(INHERITED, bad)
        assert inherited_server() is None


def test_a_crashed_child_takes_the_supervisors_server_with_it(tmp_path):
    from phakhi.supervise import run_group

    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        code = run_group([sys.executable, "-c", "import os; os.abort()"], also=server)
        assert code == 2
        server.wait(timeout=10)
        assert _gone(server.pid)
    finally:
        server.kill()
        server.wait()


def test_a_group_whose_members_have_all_exited_is_not_waited_for():
    """A member that exited and was not reaped yet (a zombie: init reaps an orphan when it gets to it) is not
    running; a running member is, and stop_group still stops it."""
    from phakhi.supervise import group_running, stop_group

    exited = subprocess.Popen(["true"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not _gone(exited.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _gone(exited.pid) and exited.returncode is None      # exited, not reaped: a zombie of its group
        assert not group_running(exited.pid)
    finally:
        exited.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        assert group_running(running.pid)
        stop_group(running.pid)
        assert running.wait(timeout=10) == -15 and not group_running(running.pid)
    finally:
        running.kill()
        running.wait()


@pytest.mark.integration
def test_the_supervisor_starts_the_server_and_the_child_uses_it(tmp_path):
    """run_supervised(prefect_server=True) with a child that adopts the server, runs a flow on it and exits:
    afterwards the server is gone."""
    script = (
        "import os\n"
        "from phakhi.prefect_api import INHERITED, adopt_early_server, start_early_server\n"
        "handed = os.environ.get(INHERITED, '')\n"
        "early = start_early_server()\n"
        "assert early is not None and handed == f'{early.process.pid}:{early.port}', (handed, early)\n"
        "from prefect import flow, get_client\n"
        "assert adopt_early_server(early)\n"
        "@flow\n"
        "def one():\n"
        "    with get_client(sync_client=True) as client:\n"
        "        return str(client.api_url)\n"
        "url = one()\n"
        "assert str(early.port) in url, url\n"
        f"open({str(tmp_path / 'pid')!r}, 'w').write(str(early.process.pid))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    driver = ("import sys\nfrom phakhi import supervise\n"
              "supervise.run_group.__defaults__  # noqa\n"
              "cmd = [sys.executable, '-c', sys.argv[1]]\n"
              "orig = supervise.run_group\n"
              "supervise.run_group = lambda _cmd, env=None, also=None: orig(cmd, env=env, also=also)\n"
              "sys.exit(supervise.run_supervised([], prefect_server=True))\n")
    proc = subprocess.run([sys.executable, "-c", driver, script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pid = int((tmp_path / "pid").read_text())
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid), f"server {pid} still running"


def test_no_heartbeats_on_the_temporary_server_only(monkeypatch):
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from phakhi.prefect_api import TEMPORARY, temporary_run_settings

    monkeypatch.setenv(TEMPORARY, "http://127.0.0.1:5999/api")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:5999/api"}):
        with temporary_run_settings():
            assert get_current_settings().flows.heartbeat_frequency is None
            assert get_current_settings().api.url == "http://127.0.0.1:5999/api"
    with temporary_settings({PREFECT_API_URL: "http://prefect-server:4200/api"}):   # a persistent server
        before = get_current_settings().flows.heartbeat_frequency
        with temporary_run_settings():
            assert get_current_settings().flows.heartbeat_frequency == before is not None
