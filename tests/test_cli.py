import json

from typer.testing import CliRunner

from phakhi.cli import app
from phakhi.publish.files import current_latest, finalise, building_dir

runner = CliRunner()


def _publish(pubs, pub_id, period):
    b = building_dir(pubs, pub_id)
    (b / "manifest.json").write_text(json.dumps({"period": period, "created_at": "2026-01-05T02:00:00+00:00"}))
    finalise(pubs, b, pub_id)


def test_help_reads_well():
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    for cmd in ("refresh", "sample", "publications"):
        assert cmd in out.output


def test_publications_list_and_rollback(tmp_path):
    home = tmp_path / "home"
    pubs = home / "publications"
    _publish(pubs, "2025-11-r1", "2025-11")
    _publish(pubs, "2025-12-r2", "2025-12")
    out = runner.invoke(app, ["publications", "list", "--home", str(home)])
    assert out.exit_code == 0 and "* 2025-12-r2" in out.output and "  2025-11-r1" in out.output
    out = runner.invoke(app, ["publications", "rollback", "2025-11-r1", "--home", str(home)])
    assert out.exit_code == 0 and current_latest(pubs) == "2025-11-r1"
    out = runner.invoke(app, ["publications", "rollback", "nope", "--home", str(home)])
    assert out.exit_code == 1 and "no publication nope" in out.output


def test_sample_refuses_to_overwrite_a_non_empty_landing(tmp_path):
    home = tmp_path / "home"
    assert runner.invoke(app, ["sample", "--home", str(home)]).exit_code == 0
    out = runner.invoke(app, ["sample", "--home", str(home)])
    assert out.exit_code == 1 and "not empty" in out.output
