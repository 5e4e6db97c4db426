"""CSV exports of the staff lists: small ones stream straight to the browser; large ones run
as a background job with a progress bar and end in a summary with a download link.

Either way the rows come from the list's own selector with the list's own cleaned filters,
one database chunk at a time (a million rows never sit in memory). A job's state lives in the
cache (status, rows done, total) and its file under ``MEDIA_ROOT/exports/<organization>/``;
both expire after ``JOB_TTL``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect
from django.utils import translation
from django.utils.module_loading import import_string

from cobro import clock
from cobro.listing import ListFilterForm, csv_lines, csv_response, csv_safe
from cobro.tenancy.context import use_organization

logger = logging.getLogger(__name__)

# Up to this many rows the file is streamed in the request (well under a second).
INLINE_LIMIT = 5_000
CHUNK = 2_000
PROGRESS_EVERY = 1_000
JOB_TTL = 24 * 3600


@dataclass(frozen=True)
class Column:
    header: Any  # a lazy translation
    value: Callable[[Any, ZoneInfo], Any]


@dataclass(frozen=True)
class ExportSpec:
    """What one list exports. ``form(data, organization)`` is the list's filter form and
    ``queryset(organization, filters)`` its selector; ``path`` is this object's dotted path
    (the background task imports it)."""

    key: str
    path: str
    form: Callable[..., ListFilterForm]
    queryset: Callable[[Any, dict], QuerySet]
    columns: tuple[Column, ...]

    def header(self) -> list[str]:
        return [str(c.header) for c in self.columns]

    def rows(self, *, organization, filters: dict) -> Iterator[list[str]]:
        tz = ZoneInfo(organization.time_zone)
        yield self.header()
        with use_organization(organization):
            qs = self.queryset(organization, filters)
            for obj in qs.iterator(chunk_size=CHUNK):
                yield [csv_safe(c.value(obj, tz)) for c in self.columns]

    def filename(self, organization) -> str:
        stamp = clock.local_now(organization).strftime("%Y%m%d")
        return f"{self.key}-{organization.slug}-{stamp}.csv"


def export_respond(request, *, spec: ExportSpec, organization):
    """The export view's whole job: 400 with the reasons for impossible filters; a streamed
    file for a small set; a background job (redirect to its progress page) for a large one."""
    form = spec.form(request.GET or None, organization=organization)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(form.error_text(), content_type="text/plain; charset=utf-8")
    filters = form.filters()
    with use_organization(organization):
        size = spec.queryset(organization, filters).order_by()[: INLINE_LIMIT + 1].count()
    if size <= INLINE_LIMIT:
        return csv_response(
            filename=spec.filename(organization),
            rows=spec.rows(organization=organization, filters=filters),
        )
    job_id = export_job_start(
        spec=spec, organization=organization, user=request.user, params=request.GET
    )
    return redirect("dashboard:export_job", job_id=job_id)


# -- background jobs -------------------------------------------------------------------------


def _key(job_id: str) -> str:
    return f"cobro:export:{job_id}"


def export_job_get(*, job_id: str, organization) -> dict | None:
    """The job of ``organization`` (None for another organization's or an expired job)."""
    job = cache.get(_key(job_id))
    if not job or job.get("organization_id") != organization.pk:
        return None
    return job


def _save(job: dict) -> None:
    cache.set(_key(job["id"]), job, JOB_TTL)


def export_file_path(job: dict) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(job["organization_id"]) / f"{job['id']}.csv"


def export_job_start(*, spec: ExportSpec, organization, user, params: QueryDict) -> str:
    from cobro.tasks import list_export_run

    job_id = uuid.uuid4().hex
    job = {
        "id": job_id,
        "organization_id": organization.pk,
        "user_id": user.pk,
        "spec": spec.path,
        "params": {k: params.getlist(k) for k in params},
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "status": "queued",
        "done": 0,
        "total": None,
        "filename": spec.filename(organization),
        "error": "",
    }
    _save(job)
    # The job's state lives in the cache, not in this request's transaction: enqueue now.
    list_export_run.delay(job_id)
    return job_id


def export_job_run(*, job_id: str) -> dict | None:
    """Write the job's file chunk by chunk, saving progress every ``PROGRESS_EVERY`` rows."""
    from cobro.models import Organization

    job = cache.get(_key(job_id))
    if not job or job["status"] not in ("queued", "running"):
        return job
    organization = Organization.objects.get(pk=job["organization_id"])
    spec: ExportSpec = import_string(job["spec"])
    data = QueryDict(mutable=True)
    for k, values in job["params"].items():
        data.setlist(k, values)
    with translation.override(job["language"]), use_organization(organization):
        form = spec.form(data or None, organization=organization)
        if form.is_bound and not form.is_valid():
            job.update(status="failed", error=form.error_text())
            _save(job)
            return job
        filters = form.filters()
        job.update(status="running", total=spec.queryset(organization, filters).count())
        _save(job)
        path = export_file_path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                for n, line in enumerate(
                    csv_lines(spec.rows(organization=organization, filters=filters))
                ):
                    out.write(line)
                    rows = n - 1  # the BOM and the header are not rows
                    if rows > 0 and rows % PROGRESS_EVERY == 0:
                        job["done"] = rows
                        _save(job)
                job["done"] = max(0, n - 1)
        except Exception as exc:
            logger.exception("export %s failed", job_id)
            job.update(status="failed", error=str(exc)[:300])
            _save(job)
            raise
        job["status"] = "done"
        job["total"] = job["done"]
        _save(job)
    return job
