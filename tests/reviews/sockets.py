"""Desk sockets in tests: the real ASGI application, the real Redis channel layer, and the
session cookie of a signed-in person."""

import asyncio

from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from hilconsole.asgi import application


def desk_socket(user, path="/ws/desk/", origin="http://testserver") -> WebsocketCommunicator:
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
