# The keyart API image: `docker compose up` runs it against the Druid cluster in
# docker-compose.yml; alone it serves the embedded backend from a mounted warehouse.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# uid 1000 = the `druid` user of the apache/druid image, so files keyart stages on the shared
# volume for Druid's indexers are readable there (and Druid can write segments next to them).
RUN groupadd --gid 1000 keyart \
    && useradd --uid 1000 --gid 1000 --create-home keyart \
    && mkdir -p /data /opt/shared/tmp \
    && chown -R keyart:keyart /data /opt/shared

WORKDIR /app
COPY pyproject.toml README.md ./
COPY keyart ./keyart
RUN pip install .

USER keyart
ENV KEYART_WAREHOUSE=/data/warehouse \
    KEYART_HOST=0.0.0.0 \
    TMPDIR=/opt/shared/tmp
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["keyart", "serve", "--host", "0.0.0.0"]
