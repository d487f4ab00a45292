"""Decisions POSTed to the callback URL a caller gave: JSON, signed with
`X-HIL-Signature: sha256=<HMAC-SHA256 of the body with APPROVALS_CALLBACK_SECRET>`."""

import hashlib
import hmac
import json

import httpx
from django.conf import settings

TIMEOUT_SECONDS = 10


def signed_post(url: str, payload: dict, headers: dict | None = None) -> httpx.Response:
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    signature = hmac.new(settings.APPROVALS_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-HIL-Signature": f"sha256={signature}", **(headers or {})}
    return httpx.post(url, content=body, timeout=TIMEOUT_SECONDS, headers=headers)
