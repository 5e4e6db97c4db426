"""Progress and download of background CSV exports (``cobro.exports``). A job belongs to the
organization that started it; any other organization gets a 404."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import render

from cobro.exports import export_file_path, export_job_get
from cobro.views.base import StaffView


def _job(request, job_id: str) -> dict:
    job = export_job_get(job_id=job_id, organization=request.organization)
    if job is None:
        raise Http404
    return job


class ExportJobView(StaffView):
    def get(self, request, job_id: str):
        job = _job(request, job_id)
        template = "cobro/exports/_progress.html" if request.htmx else "cobro/exports/job.html"
        return render(request, template, {"job": job})


class ExportJobDownloadView(StaffView):
    def get(self, request, job_id: str):
        job = _job(request, job_id)
        path = export_file_path(job)
        if job["status"] != "done" or not path.exists():
            raise Http404
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=job["filename"], content_type="text/csv"
        )
