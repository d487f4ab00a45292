from django.shortcuts import render
from django.views.decorators.http import require_GET

from conversations.models import Inbox


@require_GET
def demo_shop(request):
    """A sample shop page that embeds the widget, as a customer's website would.

    `?inbox=<widget token>` picks the inbox; by default the first one.
    """
    token = request.GET.get("inbox", "")
    inbox = Inbox.objects.filter(widget_token=token).first() if token else Inbox.objects.first()
    unknown = bool(token and not inbox)
    context = {"inbox": inbox, "unknown": unknown}
    return render(request, "conversations/demo_shop.html", context, status=404 if unknown else 200)
