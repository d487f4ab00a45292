from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        check_request_enabled.connect(widget_origin_allowed, dispatch_uid="widget_origin_allowed")


def widget_origin_allowed(sender, request, **kwargs) -> bool:
    """CORS for the widget API: an origin some inbox allows. Each view then checks that the
    origin belongs to the inbox of the request (a 403 otherwise)."""
    from conversations.models import Inbox

    origin = request.headers.get("Origin", "").rstrip("/")
    return bool(origin) and Inbox.objects.filter(allowed_origins__contains=[origin]).exists()
