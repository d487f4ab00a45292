"""Provider API keys: read from an environment variable, or stored encrypted (Fernet).

A stored key is never shown again: the admin only says whether one is set. A deployment may
read only variables named `LLM_KEY_…`: any other name (SECRET_KEY, DATABASE_URL) would send that
secret to whatever server the deployment points at.
"""

import base64
import hashlib
import os
import re

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError

KEY_VARIABLE = re.compile(r"LLM_KEY_[A-Z0-9_]{1,80}")
# What a provider's error may quote of a credential: bearer tokens, sk-… style keys, key=… pairs.
CREDENTIAL_IN_TEXT = re.compile(
    r"(?i)(\b(?:api[_-]?key|key|token|secret|authorization)[\"']?\s{0,3}[:=]\s{0,3}[\"']?(?:bearer\s+)?)"
    r"[^\s\"',;}]{6,200}"
    r"|(\bbearer\s+)[\w.~+/=-]{8,200}"
    r"|\b(?:sk|pk|rk|xai|gsk)-[\w-]{8,200}"
    r"|\bAIza[\w-]{20,60}"
)


def validate_key_variable(name: str) -> None:
    if name and not KEY_VARIABLE.fullmatch(name):
        raise ValidationError(
            f"{name!r} cannot be used: a key variable's name starts with LLM_KEY_ (capitals, digits and _ only), "
            "such as LLM_KEY_OPENAI."
        )


def without_credentials(text: str, known_keys=()) -> str:
    """`text` (a provider's error) with the keys in use and anything shaped like a credential removed."""
    for key in known_keys:
        if key:
            text = text.replace(key, "[key]")
    return CREDENTIAL_IN_TEXT.sub(lambda match: f"{match.group(1) or match.group(2) or ''}[key]", text)


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
        # Checked here too: a row written around the admin's validation must not read other secrets.
        if not KEY_VARIABLE.fullmatch(deployment.api_key_env):
            return None
        return os.environ.get(deployment.api_key_env) or None
    if deployment.api_key_encrypted:
        try:
            return _fernet().decrypt(deployment.api_key_encrypted.encode()).decode()
        except InvalidToken:
            # The encryption key changed: the deployment fails (and falls back) instead of the
            # whole gateway; the admin shows the key must be entered again.
            return None
    return None
