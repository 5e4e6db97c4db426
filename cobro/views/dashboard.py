from __future__ import annotations

from django.http import HttpResponse
from django.views.generic import TemplateView

from cobro.views.base import StaffView


class HomeView(StaffView, TemplateView):
    template_name = "cobro/home.html"


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
