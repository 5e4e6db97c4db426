from tests.customers.messaging.smtp import smtp_server  # noqa: F401
