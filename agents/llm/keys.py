"""Provider API keys: read from an environment variable, or stored encrypted (Fernet).

A stored key is never shown again: the admin only says whether one is set.
"""

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    configured = settings.LLM_KEYS_FERNET_KEY
    if configured:
        return Fernet(configured.encode())
    # Local default: derived from SECRET_KEY, so a fresh clone can store keys with no setup.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"llm-keys:{settings.SECRET_KEY}".encode()).digest()))


def encrypt_api_key(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def api_key_of(deployment) -> str | None:
    if deployment.api_key_env:
        return os.environ.get(deployment.api_key_env) or None
    if deployment.api_key_encrypted:
        try:
            return _fernet().decrypt(deployment.api_key_encrypted.encode()).decode()
        except InvalidToken:
            # The encryption key changed: the deployment fails (and falls back) instead of the
            # whole gateway; the admin shows the key must be entered again.
            return None
    return None
