from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "billing.documents"
    label = "documents"
    verbose_name = _("Documents")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import logging

        from celery.signals import worker_process_init

        # WeasyPrint logs every rendering step at INFO; keep workers' logs for what matters.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
        # Outbox handlers (render on issue) and the billing emails (invoice issued, receipt,
        # reminders, ...), which need billing models and so live on the billing side.
        from billing.documents import handlers, notifications  # noqa: F401

        # Each worker process warms WeasyPrint up and freezes its heap once (see
        # rendering.prepare_worker_process: the p99 of a render was a full GC collection).
        worker_process_init.connect(_prepare_worker_process, weak=False)


def _prepare_worker_process(**kwargs) -> None:
    from billing.documents.rendering import prepare_worker_process

    prepare_worker_process()
