"""Contracts are parsed with libyaml's loader when present (phakhi/ingest/contracts.py:SAFE_LOADER): every
contract must read exactly as yaml.safe_load reads it."""
import yaml

from phakhi.ingest.contracts import SAFE_LOADER
from phakhi.settings import CONTRACTS_DIR


def test_every_contract_reads_the_same_with_the_c_loader():
    files = sorted(CONTRACTS_DIR.glob("*.yml"))
    assert files
    for p in files:
        text = p.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=SAFE_LOADER) == yaml.safe_load(text), p.name
