"""Production settings: ``manage.py check --deploy`` is clean with DEBUG off and secrets set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a production check.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "cobro.settings",  # the production settings, not the tests'
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "cobro.example.com",
        "SITE_URL": "https://cobro.example.com",
        "COBRO_HTTPS": "1",
        "COBRO_REQUIRE_SECRET_KEY": "1",
        "COBRO_REQUIRE_ENCRYPTION_KEYS": "1",
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_check_deploy_is_clean_in_production_configuration():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_check_deploy_flags_missing_field_encryption_keys():
    result = _check_deploy(FIELD_ENCRYPTION_KEYS="")
    assert result.returncode != 0
    assert "cobro.W001" in result.stdout + result.stderr


@pytest.mark.slow
def test_check_deploy_flags_plain_http():
    result = _check_deploy(COBRO_HTTPS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr  # no HSTS


@pytest.mark.slow
def test_production_refuses_to_start_without_a_secret_key():
    result = _check_deploy(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


# --- deployment files (no Docker engine here: check what can be checked statically) ---------


def _compose() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_production_services_with_health_checks():
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    assert services["beat"]["command"][:4] == ["celery", "-A", "cobro", "beat"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "cobro", "worker"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert env["DEBUG"] == "0"
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS"} <= set(env)


def test_compose_worker_consumes_every_routed_queue(settings):
    command = _compose()["services"]["worker"]["command"]
    queues = set(command[command.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= queues


def test_dockerfile_builds_a_non_root_gunicorn_image_with_weasyprint_libraries():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    for package in ("libharfbuzz-subset0", "libpango-1.0-0", "gettext"):
        assert package in text
    assert "uv sync --frozen --no-dev" in text
    assert "collectstatic" in text and "compilemessages" in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1] != "USER root"
    assert '"gunicorn", "cobro.wsgi:application"' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".data", ".venv", ".env", ".git"} <= set(ignored)
