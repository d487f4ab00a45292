from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from conversations.models import Inbox


@require_GET
@staff_member_required
def widget_demo(request):
    """A stand-in customer website: how to embed each inbox's widget."""
    return render(request, "conversations/widget_demo.html", {"inboxes": Inbox.objects.all()})
