"""ASGI entry point: HTTP goes to Django, WebSockets to the apps' Channels consumers."""

import asyncio
import gc
import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hilconsole.settings")


class SyncStackHandler(ASGIHandler):
    """Django's ASGI handler, with a request's whole synchronous life in one hop to a thread.

    The console's views are synchronous (the ORM), and so is one of its middleware. Django's own
    handler runs the stack in async mode around them, hopping between the event loop and the
    request's thread for each synchronous middleware hook and for the view: fifteen hops for a
    desk action, more CPU than the action itself in a claim rush (bench/claim_race.py). It also
    starts a new thread for every request, and hops to it again for the request's start and end
    signals. Here the start signal, the middleware, the view and the response's close (the end
    signal, which hands the database connection back to the pool) run in one hop, on a thread
    of this process's pool (`WEB_REQUEST_THREADS`), as under a threaded WSGI server. The body is
    still read and the response sent on the event loop, a client that leaves mid-request is
    noticed as before, and WebSockets are untouched.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # No ThreadSensitiveContext: nothing below runs thread-sensitive code.
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        respond = sync_to_async(self.respond, thread_sensitive=False, executor=request_threads())

        async def process_request():
            response = await respond(scope, body_file)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client left while the response was sent

        # As Django's handler: a client that leaves while the view runs stops the wait for it.
        # The thread still finishes the request, and closes it and its body.
        tasks = [asyncio.create_task(self.listen_for_disconnect(receive)), asyncio.create_task(process_request())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
            else:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass

    def respond(self, scope, body_file):
        """A request from start signal to close, in the calling thread: its response, closed,
        with its body in memory. The request's body is closed here too, once the view is done
        with it (a view still running after its client left may yet read it)."""
        try:
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
            response._handler_class = self.__class__
            if response.streaming and not response.is_async:
                # Django's handler reads a synchronous stream whole before sending it, in the
                # request's thread: read here, while the request's database connection is open.
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
                response.streaming_content = _replay(list(response.streaming_content))
            response.close()
            return response
        finally:
            body_file.close()


async def _replay(chunks: list):
    for chunk in chunks:
        yield chunk


_request_threads: ThreadPoolExecutor | None = None


def request_threads() -> ThreadPoolExecutor:
    """This process's request threads (made at the first request, after any fork)."""
    global _request_threads
    if _request_threads is None:
        _request_threads = ThreadPoolExecutor(settings.WEB_REQUEST_THREADS, thread_name_prefix="request")
    return _request_threads


# Django must be set up before the consumers (and the models they import) are loaded.
django.setup(set_prefix=False)
django_asgi_app = SyncStackHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from conversations.routing import websocket_urlpatterns as widget_sockets  # noqa: E402
from hilconsole.body_limits import RequestBodyLimit  # noqa: E402
from reviews.routing import websocket_urlpatterns as desk_sockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies over their limit are refused (413) before Django reads them into memory.
        "http": RequestBodyLimit(django_asgi_app),
        # Each app checks origins itself: the widget accepts its inbox's sites, the desk only ours.
        "websocket": AuthMiddlewareStack(URLRouter([*widget_sockets, *desk_sockets])),
    }
)

# What is loaded by now lives as long as the process: the collector need not walk those objects
# (about 400,000) again at each full collection, which cost a desk request 0.4 ms of CPU.
gc.freeze()
