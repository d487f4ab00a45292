"""ASGI entry point: HTTP goes to Django, WebSockets to the apps' Channels consumers."""

import gc
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hilconsole.settings")


class SyncStackHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware and the view run in one worker thread.

    The console's views are synchronous (the ORM), and so is one of its middleware. Django's own
    handler runs the stack in async mode around them, hopping between the event loop and the
    request's thread for each synchronous middleware hook and for the view: fifteen hops for a
    desk action, more CPU than the action itself in a claim rush (bench/claim_race.py). Here the
    stack is one hop, as under WSGI. The body is still read and the response sent on the event
    loop, WebSockets are untouched, and an async view (there is none) would run via async_to_sync.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


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
