# syntax=docker/dockerfile:1.7
# Cobro's production image: one image for web (gunicorn), Celery worker and Celery beat.
# Build: docker build -t cobro .   Run: see docker-compose.yml and the README's "Deployment".

FROM python:3.11-slim-bookworm

# WeasyPrint needs Pango and HarfBuzz (libharfbuzz-subset0 is its font-subsetting fast path);
# gettext compiles the translations; fonts-dejavu-core gives PDFs a font with Spanish glyphs.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gettext \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /uvx /usr/local/bin/

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=cobro.settings \
    COBRO_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    COBRO_MANIFEST_STATIC=1 \
    COBRO_REQUIRE_SECRET_KEY=1 \
    COBRO_REQUIRE_ENCRYPTION_KEYS=1 \
    WEB_CONCURRENCY=3

WORKDIR /app

# Dependencies first (cached while only the code changes), exactly as locked, no dev tools.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

COPY . .

# Translations and static files are baked into the image. Nothing here talks to a database:
# the URL only keeps settings from starting the embedded PostgreSQL at build time.
RUN DATABASE_URL=postgres://build@127.0.0.1:5432/build SECRET_KEY=build-only \
        python manage.py compilemessages --ignore=.venv -v 0 \
    && DATABASE_URL=postgres://build@127.0.0.1:5432/build SECRET_KEY=build-only \
        python manage.py collectstatic --no-input -v 0

# Run as an unprivileged user; /data holds uploaded media (mount a volume there).
RUN groupadd --system --gid 10001 cobro \
    && useradd --system --uid 10001 --gid cobro --home-dir /app --shell /usr/sbin/nologin cobro \
    && mkdir -p /data \
    && chown -R cobro:cobro /data
USER cobro

EXPOSE 8000

# Web by default; docker-compose.yml runs the worker and beat from the same image.
# Worker class, threads and workers: cobro/gunicorn_conf.py (WEB_CONCURRENCY sets the workers).
CMD ["gunicorn", "cobro.wsgi:application", \
     "--config", "python:cobro.gunicorn_conf", \
     "--bind", "0.0.0.0:8000", \
     "--forwarded-allow-ips", "*", \
     "--access-logfile", "-", "--error-logfile", "-"]
