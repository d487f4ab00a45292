from corsheaders.middleware import CorsMiddleware


class WidgetCorsMiddleware(CorsMiddleware):
    """django-cors-headers, run in sync mode: whether an origin may call the widget API is
    decided by a database query (conversations.apps), which an async context cannot make."""

    async_capable = False
    sync_capable = True
