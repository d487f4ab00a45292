"""ASGI entry point: HTTP goes to Django, WebSockets to the apps' Channels consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hilconsole.settings")
# Django must be set up before the consumers (and the models they import) are loaded.
django_asgi_app = get_asgi_application()

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
