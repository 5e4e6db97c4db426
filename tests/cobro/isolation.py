"""Isolation cases of the kernel's staff pages added with the lists work: the events page and
background CSV export jobs (see tests/isolation.py)."""

from __future__ import annotations

import uuid

from django.core.cache import cache

from cobro.exports import JOB_TTL, export_file_path
from tests.isolation import make, marked, url_case


@url_case("dashboard:event_detail")
def _event_detail(org):
    return {"pk": make("cobro.outboxevent", org).pk}


def _done_job(org) -> str:
    job_id = uuid.uuid4().hex
    job = {
        "id": job_id,
        "organization_id": org.pk,
        "user_id": None,
        "spec": "billing.views.exports.INVOICE_EXPORT",
        "params": {},
        "language": "es-419",
        "status": "done",
        "done": 1,
        "total": 1,
        "filename": "invoices.csv",
        "error": "",
    }
    path = export_file_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Number\n" + marked(org, "F-1") + "\n", encoding="utf-8")
    cache.set(f"cobro:export:{job_id}", job, JOB_TTL)
    return job_id


@url_case("dashboard:export_job")
def _export_job(org):
    return {"job_id": _done_job(org)}


@url_case("dashboard:export_job_download")
def _export_job_download(org):
    return {"job_id": _done_job(org)}
