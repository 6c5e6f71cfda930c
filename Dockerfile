# Phakhi's image: the repo installed (editable, so dbt_project/, sources/ and expectations/ are found beside it).
FROM python:3.11-slim
ENV DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=False PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PHAKHI_HOME=/data PYTHONUNBUFFERED=1
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir uv \
 && uv pip install --system --compile-bytecode -c constraints.txt -e . \
 && mkdir -p /data
VOLUME ["/data"]
CMD ["phakhi", "refresh"]
