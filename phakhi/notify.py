"""Failure notification: a flow `on_failure`/`on_crashed` hook that POSTs a JSON summary to
PHAKHI_NOTIFY_WEBHOOK (off when unset; signed with HMAC-SHA256 when PHAKHI_NOTIFY_SECRET is set)."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import socket
import urllib.error
import urllib.request

from phakhi.settings import settings

log = logging.getLogger("phakhi.notify")

NOTIFY_ENV = "PHAKHI_NOTIFY_WEBHOOK"
NOTIFY_SECRET_ENV = "PHAKHI_NOTIFY_SECRET"
SIGNATURE_HEADER = "X-Phakhi-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def failure_payload(flow, flow_run, state) -> dict:
    """A short, self-contained JSON summary of a failed (or crashed) run. `text` makes it readable as-is by
    chat webhooks (Slack, Mattermost, Google Chat)."""
    message = (getattr(state, "message", None) or "").strip()
    params = dict(getattr(flow_run, "parameters", None) or {})
    run_id = str(getattr(flow_run, "id", ""))
    ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/")
    payload = {
        "event": "phakhi.refresh." + (getattr(state, "name", "failed") or "failed").lower(),
        "flow": getattr(flow, "name", None),
        "flow_run_id": run_id,
        "flow_run_name": getattr(flow_run, "name", None),
        "deployment_id": str(flow_run.deployment_id) if getattr(flow_run, "deployment_id", None) else None,
        "state": getattr(state, "name", None),
        "message": message[:4000],
        "parameters": {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                       for k, v in params.items()},
        "scheduled_start": str(getattr(flow_run, "expected_start_time", "") or ""),
        "phakhi_home": str(settings().home or ""),
        "host": socket.gethostname(),
        "ui_url": f"{ui}/runs/flow-run/{run_id}" if ui and run_id else None,
    }
    first = message.splitlines()[0] if message else "(no message)"
    payload["text"] = (f"Phakhi refresh {payload['state']}: {payload['flow_run_name']} "
                       f"(period={params.get('period')!s}) — {first[:300]}"
                       + (f"\n{payload['ui_url']}" if payload["ui_url"] else ""))
    return payload


def post_webhook(url: str, payload: dict, secret: str | None = None, timeout: float = 10.0) -> int:
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{NOTIFY_ENV} must be an http(s) URL")
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "phakhi-notify/1"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:   # noqa: S310 - scheme checked above
        return resp.status


def notify_failure(flow, flow_run, state) -> None:
    """Flow hook (on_failure, on_crashed): POST the run's summary to PHAKHI_NOTIFY_WEBHOOK when it is set.
    Never raises — a notification problem is logged and must not hide the run's own failure."""
    url = settings().notify_webhook.strip()
    if not url:
        return
    try:
        status = post_webhook(url, failure_payload(flow, flow_run, state), settings().notify_secret or None)
        _logger().info("failure notification sent (HTTP %s)", status)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        _logger().warning("failure notification to %s could not be sent: %s", _redact(url), exc)


def _redact(url: str) -> str:
    """Webhook URLs often carry their token in the path: log the host only."""
    m = re.match(r"^(https?://[^/]+)", url)
    return (m.group(1) + "/…") if m else "(invalid URL)"


def _logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a run context
        return log
