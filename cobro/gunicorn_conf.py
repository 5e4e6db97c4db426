"""Gunicorn settings of the web process, shared by the Docker image, ``manage.py runall`` and
the API benchmark (``tests.bench.bench_api``), so the benchmark measures what production runs.

    gunicorn cobro.wsgi:application --config python:cobro.gunicorn_conf --bind ...

- ``gthread`` workers: HTTP keep-alive (a sync worker closes the connection after every
  response, so API clients and the load balancer reconnect for each request), and a request
  waiting on PostgreSQL or Redis does not hold the whole process.
- One process per core plus one (``WEB_CONCURRENCY`` overrides): a process runs Python on one
  core at a time, and the extra one covers the time the others wait on I/O.
"""

from __future__ import annotations

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
# Keep idle client connections a little longer than gunicorn's default 2 s (load balancers
# reuse their connections; their own idle timeout should be longer still).
keepalive = 5
