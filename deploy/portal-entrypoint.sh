#!/bin/sh
# The compose `portal` service: migrate the portal's database, collect its static files for nginx, import the
# partner registry from the landing area on first start (then keep it written back), then serve with gunicorn.
set -eu
cd "$(dirname "$0")/.."
phakhi portal setup
exec gunicorn portal.wsgi:application --bind 0.0.0.0:8000 --workers "${PHAKHI_PORTAL_WORKERS:-3}" \
  --access-logfile - --forwarded-allow-ips "*"
