"""Desk sockets in tests: the real ASGI application, the real Redis channel layer, and the
session cookie of a signed-in person."""

import asyncio

from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from hilconsole.asgi import application


def desk_socket(user, path="/ws/desk/", origin="http://testserver", client=None) -> WebsocketCommunicator:
    """A desk socket of `user`, signed in through `client` (a new one by default)."""
    if client is None:
        client = Client()
        client.force_login(user)
    headers = [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), (b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def anonymous_socket(path="/ws/desk/") -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[(b"host", b"testserver")])


async def frames(socket, until: str, timeout: float = 3.0) -> str:
    """Frames received until one contains `until`; all of them, joined."""
    received = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not received or until not in received[-1]:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no frame with {until!r} within {timeout}s; got {received}")
        received.append(await socket.receive_from(timeout=remaining))
    return "".join(received)


async def close_code(socket, timeout: float = 3.0) -> int:
    """The code the socket was closed with (frames before the close are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await socket.receive_output(timeout=max(deadline - loop.time(), 0.01))
        if output["type"] == "websocket.close":
            return output["code"]
