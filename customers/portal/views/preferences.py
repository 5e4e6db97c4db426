"""Communication topics (through messaging's consent service) and language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from customers.messaging.models import CRITICAL_TOPICS, ConsentSource, Topic
from customers.messaging.services import preference_opted_in, preference_set
from customers.portal.views.base import PortalView, client_ip
from customers.services.customers import customer_update

LANGUAGES = [code for code, _label in settings.LANGUAGES]


class PreferencesView(PortalView):
    nav_key = "preferences"

    def _topics(self) -> list[dict]:
        return [
            {
                "value": topic.value,
                "label": topic.label,
                "critical": topic in CRITICAL_TOPICS,
                "opted_in": preference_opted_in(customer=self.customer, topic=topic.value),
            }
            for topic in Topic
        ]

    def get(self, request):
        return self.render(
            request,
            "portal/preferences.html",
            topics=self._topics(),
            languages=settings.LANGUAGES,
        )

    def post(self, request):
        chosen = set(request.POST.getlist("topics"))
        for topic in self._topics():
            if topic["critical"]:
                continue
            wanted = topic["value"] in chosen
            if wanted != topic["opted_in"]:
                preference_set(
                    customer=self.customer,
                    topic=topic["value"],
                    opted_in=wanted,
                    source=ConsentSource.PORTAL,
                    actor_label=self.customer.email,
                    ip=client_ip(request),
                )
        language = request.POST.get("language", "")
        if language in LANGUAGES and language != self.customer.locale:
            customer_update(customer=self.customer, locale=language)
        response = redirect(self.url("preferences"))
        if language in LANGUAGES:
            translation.activate(language)
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", max_age=365 * 86400
            )
        messages.success(request, _("Your preferences were saved."))
        return response
