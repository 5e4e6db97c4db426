"""Run web, Celery worker and Celery beat together in the foreground; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web (gunicorn), a Celery worker and Celery beat; Ctrl-C stops them all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args, host: str, port: str, **options):
        python = sys.executable
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "cobro.settings"),
        }
        # Local runs are plain HTTP on localhost unless told otherwise.
        env.setdefault("COBRO_HTTPS", "0")
        env.setdefault("DEBUG", "1")
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "cobro.wsgi:application",
                "--config",
                "python:cobro.gunicorn_conf",
                "--bind",
                f"{host}:{port}",
                "--access-logfile",
                "-",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "cobro",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "threads",
                "--concurrency",
                "8",
                "-n",
                "io@%h",
                "-Q",
                "default,billing,payments,notifications",
            ],
            # WeasyPrint (Pango/HarfBuzz) is not thread-safe: PDFs render in their own process.
            "documents": [
                python,
                "-m",
                "celery",
                "-A",
                "cobro",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "-n",
                "documents@%h",
                "-Q",
                "documents",
            ],
            "beat": [python, "-m", "celery", "-A", "cobro", "beat", "--loglevel", "INFO"],
        }
        procs: dict[str, subprocess.Popen] = {}
        for name, cmd in commands.items():
            procs[name] = subprocess.Popen(cmd, env=env, start_new_session=True)  # noqa: S603
        url = f"http://{host}:{port}/"
        mail_target = getattr(settings, "EMAIL_FILE_PATH", None) or "the configured SMTP server"
        login = getattr(settings, "DEMO_LOGIN", ("demo@cobro.localhost", "cobro-demo-2026"))
        self.stdout.write(
            self.style.SUCCESS(
                f"\nCobro is running at {url}\n"
                f"  Staff login: {login[0]} / {login[1]}\n"
                f"  Customer portal: {url}p/demo/\n"
                f"  Emails go to {mail_target}\n"
                "  Press Ctrl-C to stop web, worker and beat.\n"
            )
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            self.stdout.write("Stopped web, worker and beat.")
