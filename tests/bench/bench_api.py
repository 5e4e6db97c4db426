"""Benchmark: the REST API under load over an organization with a million invoices.

Data: ``tests.bench.bigdata`` (database ``cobro_bench_big``, generated once and reused; about
1.9 million invoices with the defaults). Starts gunicorn as production does (``cobro.wsgi``,
``cobro/gunicorn_conf.py``: gthread workers with keep-alive, cores + 1 processes) with the
production settings (DEBUG off, API-key authentication, the tenant-scoped managers, the
per-key throttle with its rate raised so it counts but never refuses) on a free loopback port,
then drives it with ``wrk`` (Debian package; ``make bench`` installs it) over 16 connections:

- invoice detail: ``GET /api/v1/invoices/<id>`` cycling over 20,000 random invoices of the
  organization: target at least 700 requests/s with p99 at most 40 ms;
- invoice list: ``GET /api/v1/invoices?limit=20`` (first pages and pages further on, with
  the cursors the API returned): target at least 300 requests/s with p99 at most 100 ms.

Every response is checked to be 200 (wrk counts others as errors). Traffic only to 127.0.0.1,
bounded by ``--duration``. Targets are for a quiet machine: the report prints the load
average and the core count next to the figures.

    python -m tests.bench.bench_api [--duration 20] [--connections 16] [--workers N]

CPU per request without gunicorn and wrk, stable on a busy machine: ``tests.bench.api_cpu``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DETAIL_RPS, DETAIL_P99_MS = 700, 40
LIST_RPS, LIST_P99_MS = 300, 100

LUA = r"""
local paths = {}
local i = 0
local errors = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer API_KEY",
                                       ["Host"] = "localhost"})
end
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(port: int) -> dict[str, str]:
    from django.conf import settings

    from tests.bench import bigdata

    db = settings.DATABASES["default"]
    env = dict(os.environ)
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db.get("HOST") or "127.0.0.1"
    env.update(
        DATABASE_URL=f"postgres://{auth}@{host}:{db.get('PORT') or 5432}/{bigdata.BENCH_DB}",
        DEBUG="0",
        COBRO_HTTPS="0",
        ALLOWED_HOSTS="localhost,127.0.0.1",
        COBRO_API_RATE_LIMIT="1000000/s",
        COBRO_DISPATCH_ON_COMMIT="0",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="600",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def start_gunicorn(port: int, workers: int | None = None) -> subprocess.Popen:
    """Gunicorn as production runs it (``cobro/gunicorn_conf.py``: gthread workers with
    keep-alive), with its access log written, as in production, but to /dev/null."""
    cmd = [
        sys.executable, "-m", "gunicorn", "cobro.wsgi:application",
        "--config", "python:cobro.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning", "--access-logfile", os.devnull, "--backlog", "256",
    ]  # fmt: skip
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_server_env(port), start_new_session=True)
    try:
        _wait_ready(proc, port)
    except BaseException:
        stop(proc)
        raise
    return proc


def _wait_ready(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 240  # workers boot slowly on a loaded machine
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited during start")
    raise RuntimeError("gunicorn did not answer /healthz within 240 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _get(port: int, path: str) -> dict:
    from tests.bench import bigdata

    req = urllib.request.Request(  # noqa: S310 (loopback only)
        f"http://127.0.0.1:{port}{path}",
        headers={"Authorization": f"Bearer {bigdata.API_KEY}", "Host": "localhost"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
        return json.loads(r.read())


def list_paths(port: int, pages: int = 50) -> list[str]:
    """The first page plus the next ``pages`` pages reached through ``next`` cursors."""
    paths = ["/api/v1/invoices?limit=20"]
    body = _get(port, paths[0])
    for _ in range(pages):
        nxt = body.get("next")
        if not nxt:
            break
        path = nxt.split("://", 1)[-1]
        path = path[path.index("/") :]
        paths.append(path)
        body = _get(port, path)
    return paths


def detail_paths(n: int = 20_000) -> list[str]:
    from django.db import connection

    from tests.bench import bigdata

    with connection.cursor() as cur:
        cur.execute("SELECT value FROM bench_big_param WHERE name = 'org'")
        org = cur.fetchone()[0]
        cur.execute(
            "SELECT id FROM billing_invoice TABLESAMPLE SYSTEM (2) WHERE organization_id = %s "
            "LIMIT %s",
            [org, n],
        )
        ids = [r[0] for r in cur.fetchall()]
    del bigdata
    return [f"/api/v1/invoices/{i}" for i in ids]


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(port: int, paths: list[str], *, connections: int, duration: int) -> dict:
    from tests.bench import bigdata

    with tempfile.TemporaryDirectory() as tmp:
        plist = Path(tmp, "paths.txt")
        plist.write_text("\n".join(paths) + "\n")
        script = Path(tmp, "bench.lua")
        script.write_text(LUA.replace("API_KEY", bigdata.API_KEY))
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{duration}s",
                "--latency",
                "--timeout",
                "5s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
                "--",
                str(plist),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": _ms(lat["50"]),
        "p90": _ms(lat["90"]),
        "p99": _ms(lat["99"]),
        "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=None, help="default: cobro/gunicorn_conf.py (cores + 1)"
    )
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=4)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk; `make bench` installs it)")
        return 2
    if not os.environ.get("REDIS_URL"):
        print("REDIS_URL is not set: unlike production, every request will read its API key "
              "and count its rate limit in PostgreSQL (the database cache)")  # fmt: skip

    from tests.bench import bigdata

    bigdata.configure()
    bigdata.generate(subscriptions=args.subscriptions, months=args.months)
    bigdata.vacuum()
    sizes = bigdata.summary()
    print(f"data: {sizes}")
    details = detail_paths()
    from django.db import connections

    connections.close_all()

    port = _free_port()
    proc = start_gunicorn(port, args.workers)
    failures: list[str] = []
    try:
        lists = list_paths(port)
        from cobro import gunicorn_conf

        workers = args.workers or gunicorn_conf.workers
        print(f"gunicorn: {workers} {gunicorn_conf.worker_class} workers x "
              f"{gunicorn_conf.threads} threads on 127.0.0.1:{port}; wrk: "
              f"{args.connections} connections, 2 threads, {args.duration} s per run")  # fmt: skip
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} cores shared with PostgreSQL, wrk and other work)")  # fmt: skip
        print()
        print(f"  {'endpoint':<34} {'req/s':>8} {'p50':>8} {'p90':>8} {'p99':>8}  target")
        for name, paths, rps_t, p99_t in (
            ("GET /invoices/<id> (detail)", details, DETAIL_RPS, DETAIL_P99_MS),
            ("GET /invoices?limit=20 (list)", lists, LIST_RPS, LIST_P99_MS),
        ):
            # Short warm-up (connections, caches), then the measured run.
            run_wrk(port, paths, connections=args.connections, duration=3)
            r = run_wrk(port, paths, connections=args.connections, duration=args.duration)
            ok = r["rps"] >= rps_t and r["p99"] <= p99_t and not r["non2xx"]
            if not ok:
                failures.append(name)
            print(
                f"  {name:<34} {r['rps']:>8.0f} {r['p50']:>6.1f}ms {r['p90']:>6.1f}ms "
                f"{r['p99']:>6.1f}ms  >= {rps_t}/s, p99 <= {p99_t} ms: "
                f"{'MET' if ok else 'NOT MET'}",
                flush=True,
            )
            if r["non2xx"] or r["socket_errors"]:
                print(f"    {r['non2xx']} non-2xx responses; socket errors: {r['socket_errors']}")
        print()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}. "
              "Figures measured while other work shares the cores are not comparable; "
              "run on an idle machine.")  # fmt: skip
    finally:
        stop(proc)
    if failures:
        print("not met: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
