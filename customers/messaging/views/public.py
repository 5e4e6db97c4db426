"""One-click unsubscribe, without login: the signed token is the authority.

GET shows a confirmation page (link scanners must not unsubscribe anyone); POST unsubscribes.
Mail clients implementing RFC 8058 POST ``List-Unsubscribe=One-Click`` directly, without a
CSRF token, hence ``csrf_exempt`` (the signed token makes a forged request useless).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from customers.messaging.models import CRITICAL_TOPICS, ConsentSource, Topic
from customers.messaging.services import preference_set, unsubscribe_parse


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    def _resolve(self, token: str):
        from customers.models import Customer

        parsed = unsubscribe_parse(token)
        if parsed is None:
            raise Http404
        org_id, customer_id, topic = parsed
        if topic not in Topic.values or topic in CRITICAL_TOPICS:
            raise Http404
        customer = (
            Customer.unscoped.select_related("organization")
            .filter(pk=customer_id, organization_id=org_id)
            .first()
        )
        if customer is None:
            raise Http404
        return customer, topic

    def get(self, request, token: str):
        customer, topic = self._resolve(token)
        return render(
            request,
            "messaging/unsubscribe.html",
            {
                "org": customer.organization,
                "topic_label": Topic(topic).label,
                "done": False,
                "email": customer.email,
            },
        )

    def post(self, request, token: str):
        customer, topic = self._resolve(token)
        preference_set(
            customer=customer,
            topic=topic,
            opted_in=False,
            source=ConsentSource.UNSUBSCRIBE_LINK,
            actor_label=customer.email,
            ip=request.META.get("REMOTE_ADDR"),
        )
        return render(
            request,
            "messaging/unsubscribe.html",
            {
                "org": customer.organization,
                "topic_label": Topic(topic).label,
                "done": True,
                "email": customer.email,
            },
        )
