from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.demo_shop.services import DEMO_CUSTOMERS
from conversations.models import Inbox


@require_GET
def demo_shop(request):
    """A sample shop page that embeds the widget, as a customer's website would.

    `?inbox=<widget token>` picks the inbox; by default the first one. Where the demo sign-in is
    on, `?customer=<account id>` signs in as one of the shop's customers: the page signs their id with
    the inbox's identity secret on the server, as a real shop's backend would, so the AI may
    look at that customer's orders. The page signs the account's id (such as "shop-ana").
    """
    token = request.GET.get("inbox", "")
    inbox = Inbox.objects.filter(widget_token=token).first() if token else Inbox.objects.first()
    context = {"inbox": inbox, "unknown": bool(token and not inbox), "customers": [], "signed_in": None}
    if inbox and settings.DEMO_SHOP_SIGN_IN:
        context["customers"] = DEMO_CUSTOMERS
        account = request.GET.get("customer", "")
        accounts = {account: (email, name) for account, email, name in DEMO_CUSTOMERS}
        if account and account not in accounts:
            context["unknown_customer"] = True
        elif account:
            email, name = accounts[account]
            context["signed_in"] = {
                "identifier": account,
                "identifier_hash": inbox.identifier_hash(account),
                "name": name,
                "email": email,
            }
    status = 404 if context["unknown"] or context.get("unknown_customer") else 200
    return render(request, "agents/demo_shop.html", context, status=status)
