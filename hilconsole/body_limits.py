"""Request bodies over a size limit are refused with 413 before they are read into memory.

Django's ASGI handler reads a whole request body before any middleware runs, so the cap is an
ASGI middleware in front of it: a declared Content-Length over the limit is answered at once,
and a body sent without one (chunked) is counted as it arrives and cut off at the limit.
The admin's pages may carry an upload (a knowledge document) on top of the usual limit, and the
analyses endpoint a document of its own size.
"""

import json

from django.conf import settings

ANALYSES_PATH = "/api/v1/analyses"


def body_limit(path: str) -> int:
    if path == ANALYSES_PATH:
        return settings.ANALYSIS_UPLOAD_MAX_BYTES + settings.REQUEST_MAX_BODY_BYTES
    if path.startswith("/admin/"):
        return settings.UPLOAD_MAX_BYTES + settings.REQUEST_MAX_BODY_BYTES
    return settings.REQUEST_MAX_BODY_BYTES


class RequestBodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared == "invalid":
            return await _refuse(send, 400, "invalid", "The Content-Length header is not a number of bytes.")
        if declared is not None and declared > limit:
            return await _too_large(send, limit)
        over = False
        received = 0

        async def capped_receive():
            nonlocal over, received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops reading and answers nothing; the 413 is sent below.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, capped_receive, send)
        if over:
            await _too_large(send, limit)


def _content_length(scope) -> int | str | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 18 else "invalid"
    return None


async def _too_large(send, limit: int) -> None:
    megabytes = f"{limit / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    await _refuse(send, 413, "request_too_large", f"The request body is larger than {megabytes} MB.")


async def _refuse(send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
