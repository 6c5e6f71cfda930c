#!/bin/sh
# The compose worker (and tests/test_prefect_server.py): wait for the Prefect API, make sure the process work
# pool exists, (re)deploy prefect.yaml, then run the worker. Redeploying on every start means a new image
# rolls out its code, schedule and concurrency limit by restarting this container.
set -eu
cd "$(dirname "$0")/.."                        # the repo root: prefect.yaml, and where flow runs start
POOL=phakhi-process                            # must match work_pool.name in prefect.yaml
: "${PREFECT_API_URL:?set PREFECT_API_URL to the Prefect server, e.g. http://prefect-server:4200/api}"

echo "==> waiting for the Prefect API at $PREFECT_API_URL"
python - <<'PY'
import os, sys, time, urllib.request
url = os.environ["PREFECT_API_URL"].rstrip("/") + "/health"
deadline = time.monotonic() + float(os.environ.get("PHAKHI_API_WAIT_SECONDS", "180"))
while True:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"Prefect API not healthy at {url}")
    time.sleep(1)
PY

if [ "${PHAKHI_BOOTSTRAP_SAMPLE:-false}" = "true" ]; then
  phakhi sample || echo "==> landing area not empty: SAMPLE data not written"
fi

prefect work-pool inspect "$POOL" >/dev/null 2>&1 || prefect work-pool create "$POOL" --type process
prefect --no-prompt deploy --all
exec prefect worker start --pool "$POOL" --type process --with-healthcheck
