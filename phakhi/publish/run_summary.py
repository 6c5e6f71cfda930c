"""The per-run summary shown in the Prefect UI (markdown artifact) and printed by the CLI."""
from __future__ import annotations

import pandas as pd


def run_summary_markdown(ingest_report: pd.DataFrame, gate, run_id: str, period: str, publication_id: str | None) -> str:
    lines = [f"# Phakhi refresh {period}", "", f"run `{run_id}` — "
             + (f"**published** `{publication_id}`" if publication_id else
                ("**gate passed**, publishing" if gate.passed else "**gate FAILED — nothing published**")), "",
             "## Ingestion", "", "| source | files | rejected files | rows read | loaded | quarantined |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in ingest_report.to_dict("records"):
        lines.append(f"| {r['family']} | {r['files']} | {r['files_rejected']} | {r['rows_read']} | {r['rows_loaded']} "
                     f"| {r['rows_quarantined']} |")
    passed = sum(c.success for c in gate.checks)
    lines += ["", "## Quality gate", "",
              f"dbt: {'ok' if gate.dbt.get('success', True) else 'FAILED'} {gate.dbt.get('counts', {})}; "
              f"great-expectations: {passed}/{len(gate.checks)} checks passed, {len(gate.blocking)} blocking, "
              f"{len(gate.warnings)} warnings"]
    if not gate.passed:
        lines += ["", "```", gate.summary(), "```"]
    for c in gate.warnings:
        lines.append(f"- warning: {c.expectation} on {c.suite}.{c.column}: {c.unexpected_count} rows, e.g. {c.sample[:3]}")
    return "\n".join(lines)
