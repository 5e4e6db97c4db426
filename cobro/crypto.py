"""Field encryption for secrets and personal data: ``cryptography``'s MultiFernet.

Keys come from ``FIELD_ENCRYPTION_KEYS`` (newest first). The first key encrypts; every key
decrypts, so rotation is: prepend a new key, run ``manage.py reencrypt_fields``, drop the old.
On the embedded default with no keys configured, a key is generated under ``.data/`` so that a
development install still never stores these fields in clear.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _configured_keys() -> list[str]:
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()]
    if keys:
        return keys
    if not settings.DEBUG and getattr(settings, "COBRO_REQUIRE_ENCRYPTION_KEYS", False):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set in production")
    key_file = settings.DATA_DIR / "field_encryption_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


@lru_cache(maxsize=1)
def multifernet() -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in _configured_keys()])


def reset_key_cache() -> None:
    multifernet.cache_clear()


def encrypt_str(value: str) -> str:
    return multifernet().encrypt(value.encode()).decode()


def decrypt_str(token: str) -> str:
    return multifernet().decrypt(token.encode()).decode()


def rotate_str(token: str) -> str:
    """Re-encrypt a token with the newest key (MultiFernet.rotate)."""
    return multifernet().rotate(token.encode()).decode()
