"""Settings for the test suite: production-like (DEBUG off) but plain HTTP, fast hashing,
eager Celery, and no implicit dispatch: tests call the dispatcher themselves."""

from cobro.settings import *  # noqa: F403
from cobro.settings import DATA_DIR

DEBUG = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
COBRO_DISPATCH_ON_COMMIT = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = DATA_DIR / "test-media"
COBRO_SUPPORT_FILES_ROOT = DATA_DIR / "test-support-files"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns when it is missing
