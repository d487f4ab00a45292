from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.demo_shop.services import DEMO_CUSTOMERS
from conversations.models import Inbox


@require_GET
def demo_shop(request):
    """A sample shop page that embeds the widget, as a customer's website would.

    `?inbox=<widget token>` picks the inbox; by default the first one. Where the demo sign-in is
    on, `?customer=<email>` signs in as one of the shop's customers: the page signs their id with
    the inbox's identity secret on the server, as a real shop's backend would, so the AI may
    look at that customer's orders.
    """
    token = request.GET.get("inbox", "")
    inbox = Inbox.objects.filter(widget_token=token).first() if token else Inbox.objects.first()
    context = {"inbox": inbox, "unknown": bool(token and not inbox), "customers": [], "signed_in": None}
    if inbox and settings.DEMO_SHOP_SIGN_IN:
        context["customers"] = DEMO_CUSTOMERS
        email = request.GET.get("customer", "")
        names = dict(DEMO_CUSTOMERS)
        if email and email not in names:
            context["unknown_customer"] = True
        elif email:
            context["signed_in"] = {
                "identifier": email,
                "identifier_hash": inbox.identifier_hash(email),
                "name": names[email],
                "email": email,
            }
    status = 404 if context["unknown"] or context.get("unknown_customer") else 200
    return render(request, "agents/demo_shop.html", context, status=status)
