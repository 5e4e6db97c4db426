"""Field encryption for secrets and personal data: ``cryptography``'s MultiFernet.

Keys come from ``FIELD_ENCRYPTION_KEYS`` (newest first). The first key encrypts; every key
decrypts, so rotation is: prepend a new key, run ``manage.py reencrypt_fields``, drop the old.
On the embedded default with no keys configured, a key is generated under ``.data/`` so that a
development install still never stores these fields in clear.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


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
def _fernets() -> tuple[Fernet, ...]:
    return tuple(Fernet(k.encode()) for k in _configured_keys())


@lru_cache(maxsize=1)
def multifernet() -> MultiFernet:
    return MultiFernet(list(_fernets()))


def reset_key_cache() -> None:
    _fernets.cache_clear()
    multifernet.cache_clear()


@receiver(setting_changed)
def _keys_changed(*, setting, **kwargs) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "DATA_DIR"):
        reset_key_cache()


def encrypt_str(value: str) -> str:
    return multifernet().encrypt(value.encode()).decode()


def decrypt_str(token: str) -> str:
    return multifernet().decrypt(token.encode()).decode()


def rotate_str(token: str) -> str:
    """Re-encrypt a token with the newest key (MultiFernet.rotate)."""
    return multifernet().rotate(token.encode()).decode()


def is_current(token: str) -> bool:
    """Whether ``token`` is already encrypted with the newest key (nothing to rotate)."""
    try:
        _fernets()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


@checks.register(checks.Tags.security, deploy=True)
def check_field_encryption_keys(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """``check --deploy``: production must configure its keys, not rely on a generated file."""
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()]
    if not keys:
        return [
            checks.Warning(
                "FIELD_ENCRYPTION_KEYS is not set: personal data is encrypted with a key "
                "generated under DATA_DIR, which is lost with the machine.",
                hint="Set FIELD_ENCRYPTION_KEYS to one or more Fernet keys, newest first.",
                id="cobro.W001",
            )
        ]
    errors: list[checks.CheckMessage] = []
    for i, key in enumerate(keys):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(
                checks.Error(
                    f"FIELD_ENCRYPTION_KEYS item {i + 1} is not a valid Fernet key.",
                    id="cobro.E001",
                )
            )
    return errors
