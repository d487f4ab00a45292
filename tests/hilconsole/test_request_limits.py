"""Oversized requests and frames are refused by the real ASGI server (uvicorn) before they are
read: request bodies over their limit get 413, WebSocket frames over 64 kB close the socket."""

import json
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conversations.services import conversation_open, inbox_ensure

pytestmark = pytest.mark.django_db(transaction=True)
MB = 1024 * 1024


def raw_request(base_url: str, head: str, body: bytes = b"", timeout: float = 5) -> tuple[str, float]:
    """Send `head` (and `body`) over a plain socket; (the status line, seconds until it came)."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as connection:
        started = time.monotonic()
        connection.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = connection.recv(4096).decode(errors="replace")
        return answer.split("\r\n", 1)[0], time.monotonic() - started


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(live_server_url):
    head = (
        "POST /api/widget/v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * MB}"
    )

    # Only the headers are sent: the 413 cannot wait for 50 MB that never come.
    status_line, seconds = raw_request(live_server_url, head)

    assert status_line == "HTTP/1.1 413 Request Entity Too Large"
    assert seconds < 2


def test_a_chunked_body_over_the_limit_is_cut_off_with_413(live_server_url):
    def chunks():
        for _ in range(3):
            yield b"x" * (MB // 2)

    response = httpx.post(f"{live_server_url}/api/widget/v1/conversations", content=chunks(), timeout=15)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert "1 MB" in response.json()["error"]["message"]


def test_a_body_under_the_limit_is_served_as_usual(live_server_url):
    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    body = json.dumps({"customer": {"name": "x" * 100}, "padding": "y" * (MB // 2)})

    response = httpx.post(
        f"{live_server_url}/api/widget/v1/conversations", content=body, timeout=15,
        headers={"Content-Type": "application/json", "X-Inbox-Token": inbox.widget_token},
    )  # fmt: skip

    assert response.status_code == 201


def test_the_admin_accepts_an_upload_sized_body(live_server_url):
    response = httpx.post(f"{live_server_url}/admin/login/", content=b"x" * (3 * MB), timeout=15)

    assert response.status_code != 413  # refused for other reasons (no CSRF token), but read


def test_an_admin_body_over_the_upload_limit_is_refused(live_server_url):
    status_line, _ = raw_request(
        live_server_url, f"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {7 * MB}"
    )

    assert status_line == "HTTP/1.1 413 Request Entity Too Large"


def test_a_websocket_frame_over_64_kb_closes_the_socket_at_the_server(live_server_url):
    inbox, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    conversation, token, _ = conversation_open(inbox)
    url = live_server_url.replace("http", "ws") + f"/ws/widget/{conversation.pk}/"

    with connect(url, open_timeout=10, max_size=None) as widget:
        widget.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(widget.recv(timeout=10)) == {"type": "ready"}
        with pytest.raises(ConnectionClosed) as closed:  # the server may close while the frame is still going out
            widget.send("x" * (100 * 1024))
            widget.recv(timeout=10)

    # Closed by uvicorn itself (--ws-max-size), before the consumer's own cap of 4 kB.
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1009, "frame exceeds limit of 65536 bytes")
