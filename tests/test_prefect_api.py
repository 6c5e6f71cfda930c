"""Prefect's temporary API started early (phakhi/prefect_api.py): it becomes the refresh's Prefect API (local mode
still: a held candidate is not paused), the refresh's process never imports Prefect's server, a configured
server is left alone, and nothing of it outlives the process."""
import os
import subprocess
import sys
import textwrap

import pytest


def test_no_early_server_when_a_server_is_configured_or_switched_off(monkeypatch):
    from phakhi.prefect_api import EARLY, adopt_early_server, start_early_server

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert start_early_server() is None
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setenv(EARLY, "0")
    assert start_early_server() is None
    assert adopt_early_server(None) is False


def test_a_configured_server_is_not_the_temporary_one(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from phakhi.prefect_api import TEMPORARY, is_temporary_api

    monkeypatch.setenv(TEMPORARY, "http://127.0.0.1:5999/api")
    with temporary_settings({PREFECT_API_URL: "http://prefect-server:4200/api"}):
        assert not is_temporary_api()                       # a persistent server: a held candidate pauses
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:5999/api"}):
        assert is_temporary_api()


def test_profile_settings_compare_as_the_server_reads_them(monkeypatch):
    from phakhi.prefect_api import _same

    assert _same("False", "false") and _same("True", " TRUE")
    assert not _same("True", "false") and not _same("/a/b", "/A/B") and not _same("x", None)


@pytest.mark.integration
def test_the_early_server_runs_the_flow_as_prefects_temporary_server_and_stops_at_exit(tmp_path):
    script = textwrap.dedent(f"""
        import os
        from phakhi.settings import use_home
        use_home({str(tmp_path / 'home')!r})
        from phakhi.prefect_api import adopt_early_server, start_early_server
        early = start_early_server()
        print("server", early.process.pid, flush=True)
        import sys
        from prefect import flow, get_client
        from prefect.settings import PREFECT_API_URL
        from phakhi.prefect_api import is_temporary_api
        assert is_temporary_api()                            # no API yet: local mode
        assert adopt_early_server(early)

        @flow
        def one():
            with get_client(sync_client=True) as client:
                return client.api_url

        url = str(one())
        assert str(early.port) in url, url                  # the flow talked to the early server
        assert str(early.port) in PREFECT_API_URL.value()
        assert is_temporary_api()                            # still local mode (a held candidate is not paused)
        assert not [m for m in sys.modules if m.startswith("prefect.server")], "the client imported the server"
        print("ok", flush=True)
        """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split()
    assert "ok" in lines
    pid = int(lines[lines.index("server") + 1])
    try:                                                    # stopped at exit
        os.kill(pid, 0)
        state = open(f"/proc/{pid}/status").read()
        assert "State:\tZ" in state, f"server {pid} still running"
    except ProcessLookupError:
        pass


def test_the_temporary_server_runs_prefects_app_through_the_launcher_unless_switched_off(monkeypatch, tmp_path):
    from phakhi.prefect_api import GC_PAUSE, server_command

    monkeypatch.delenv(GC_PAUSE, raising=False)
    cmd = server_command(tmp_path, 4321)
    assert cmd[1:] == ["-m", "phakhi.prefect_api", str(tmp_path), "4321"]
    monkeypatch.setenv(GC_PAUSE, "0")                     # Prefect's own command line, as before
    cmd = server_command(tmp_path, 4321)
    assert cmd[1:4] == ["-m", "uvicorn", "--app-dir"] and "prefect.server.api.server:create_app" in cmd


def test_the_cycle_collector_is_paused_for_the_block_and_restored():
    import gc

    from phakhi.supervise import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()                            # restored as it was: off
    finally:
        gc.enable()


def test_a_server_that_never_answers_leaves_prefects_settings_as_they_were(monkeypatch, caplog):
    """adopt_early_server points Prefect at the server while it starts; when it dies instead, the environment
    and Prefect's settings are put back (Prefect then starts its own server, as before)."""
    from prefect.settings import PREFECT_API_URL, get_current_settings

    from phakhi.prefect_api import TEMPORARY, EarlyServer, adopt_early_server, is_temporary_api

    for k in (TEMPORARY, "PREFECT_API_URL", "PREFECT_UI_URL"):
        monkeypatch.delenv(k, raising=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    heartbeats = get_current_settings().flows.heartbeat_frequency
    assert adopt_early_server(EarlyServer(dead, 9)) is False
    assert "did not answer" in caplog.text          # it waited for the server (and gave up): not refused at once
    assert not {TEMPORARY, "PREFECT_API_URL", "PREFECT_UI_URL"} & set(os.environ)
    assert PREFECT_API_URL.value() is None and is_temporary_api()
    from phakhi.prefect_api import temporary_run_settings

    with temporary_run_settings():        # made afresh: the ones made for the dead server are dropped
        assert get_current_settings().flows.heartbeat_frequency is None
        assert PREFECT_API_URL.value() is None
    assert get_current_settings().flows.heartbeat_frequency == heartbeats
