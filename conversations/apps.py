import re

from django.apps import AppConfig
from django.conf import settings


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        check_request_enabled.connect(widget_origin_allowed, dispatch_uid="widget_origin_allowed")


def widget_origin_allowed(sender, request, **kwargs) -> bool:
    """CORS for the widget API: an origin some inbox allows. Each view then checks that the
    origin belongs to the inbox of the request (a 403 otherwise).

    django-cors-headers asks for every other page too. Those answer no other site, and a
    browser's own POSTs carry an Origin: the desk's actions would each cost an inbox lookup."""
    from conversations.models import Inbox

    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = request.headers.get("Origin", "").rstrip("/")
    return bool(origin) and Inbox.objects.filter(allowed_origins__contains=[origin]).exists()
