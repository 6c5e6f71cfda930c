# Phakhi's image: the Prefect server, the worker (which runs the monthly refresh) and `phakhi` commands all run
# from it, so server and client are always the same Prefect version (constraints.txt).
#   docker build -t phakhi .
FROM python:3.11-slim-bookworm

ENV DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    GX_ANALYTICS_ENABLED=false \
    PHAKHI_HOME=/data \
    PREFECT_HOME=/data/prefect \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (a layer that changes only with pyproject.toml / constraints.txt), pinned exactly as CI.
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir uv \
 && uv pip install --system --no-cache --compile-bytecode -c constraints.txt -r pyproject.toml

# Then the code. Editable install: dbt_project/, sources/, expectations/ and dashboards/ are found beside phakhi/ and flows/.
COPY . .
RUN uv pip install --system --no-cache --compile-bytecode --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin phakhi \
 && mkdir -p /data/prefect /data/landing /data/warehouse /data/publications /data/runs /data/candidate /data/portal/static \
 && chown -R phakhi:phakhi /data \
 && chmod +x deploy/worker-entrypoint.sh deploy/portal-entrypoint.sh

USER phakhi
# 4200: Prefect server (prefect-server service); 8080: the worker's health endpoint; 8000: the partner portal.
EXPOSE 4200 8080 8000
CMD ["phakhi", "--help"]
