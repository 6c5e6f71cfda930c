"""YAML files are parsed with libyaml's loader when present (phakhi/yaml_files.py): every contract, dbt YAML file
and the Thai dictionary must read exactly as yaml.safe_load reads it."""
import yaml

from phakhi.settings import CONTRACTS_DIR, DBT_PROJECT_DIR
from phakhi.yaml_files import read_yaml


def test_every_yaml_file_reads_the_same_with_the_c_loader():
    files = sorted(CONTRACTS_DIR.glob("*.yml")) + sorted(DBT_PROJECT_DIR.rglob("*.yml"))
    assert len(files) > 10
    for p in files:
        assert read_yaml(p) == yaml.safe_load(p.read_text(encoding="utf-8")), p.name
