"""The Celery application. Queues: billing, payments, notifications, documents, default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobro.settings")

app = Celery("cobro")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
