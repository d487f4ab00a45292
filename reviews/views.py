"""The desk's pages and actions. Every action works as a plain form post and, with htmx, as
an in-place update; refusals come back as a notice (4xx), never as a 500."""

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from agents.llm import budgets
from conversations.events import assignee_name
from conversations.models import Conversation, person_name
from hilconsole.errors import DomainError
from reviews import selectors, services
from reviews.forms import CannedSearchForm, EarlierForm, PresenceForm, ReplyForm, ResolveForm, TransferForm
from reviews.roles import user_desk_roles, user_is_supervisor, user_may_use_desk

S = Conversation.Status


def desk_view(view):
    """Signed-in desk users only; a refused action answers with a notice instead of raising."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_may_use_desk(request.user):
            raise PermissionDenied("The desk is for support agents and reviewers.")
        try:
            return view(request, *args, **kwargs)
        except DomainError as refusal:
            # An htmx notice stays in place: no page to go back to (every loser of a claim rush).
            back = None if request.htmx else page_of(kwargs)
            return notice(request, refusal.message, status=refusal.status, back=back)

    return wrapped


def page_of(kwargs: dict) -> str:
    """The page an action was taken on, to go back to with a notice."""
    if "conversation_id" in kwargs:
        return reverse("desk:conversation", args=[kwargs["conversation_id"]])
    if "task_id" in kwargs:
        return reverse("desk:review", args=[kwargs["task_id"]])
    return reverse("desk:home")


def notice(request, text: str, *, status: int = 400, level: str = "error", back: str | int | None = None):
    """The answer to a refused or invalid action: a notice in place (htmx) or on the page it came from."""
    if request.htmx:
        response = render(request, "reviews/_notice.html", {"text": text, "level": level}, status=status)
        response["HX-Retarget"] = "#notices"
        response["HX-Reswap"] = "innerHTML"
        return response
    messages.error(request, text)
    if isinstance(back, int):
        back = reverse("desk:conversation", args=[back])
    return redirect(back or reverse("desk:home"))


def form_notice(request, form, back: str | int | None = None):
    """Each error of the form, named by its field's label, as one notice."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        label = label or name.replace("_", " ")
        parts += [error if name == "__all__" else f"{label}: {error}" for error in errors]
    return notice(request, " ".join(parts), status=400, back=back)


def done(request, text: str, to: str):
    """A finished action: the next page, with a note of what happened."""
    messages.success(request, text)
    if request.htmx:
        return HttpResponse(headers={"HX-Redirect": to})
    return redirect(to)


# The desk ----------------------------------------------------------------------------------


@require_GET
@desk_view
def desk_home(request):
    user = request.user
    return render(
        request,
        "reviews/desk_home.html",
        {
            "roles": user_desk_roles(user),
            # Opening the desk is being there: the status shown is the one the socket will keep.
            "agent": services.human_agent_heartbeat(user),
            "works_an_inbox": selectors.inboxes_for(user).exists(),
            "heartbeat_seconds": settings.DESK_HEARTBEAT_SECONDS,
            "resync_seconds": settings.DESK_RESYNC_SECONDS,
            # Supervisors learn at once that an AI agent stopped answering their inboxes.
            "paused_agents": (
                list(budgets.paused_agents(selectors.inboxes_for(user))) if user_is_supervisor(user) else []
            ),
        }
        | desk_lists_context(user),
    )


def desk_lists_context(user) -> dict:
    queue_size = selectors.queue_size_for_agent(user)
    return {
        "queue": selectors.queue_for_agent(user),
        "queue_size": queue_size,
        "queue_more": queue_size > selectors.QUEUE_LIMIT,
        "mine": selectors.conversations_of_agent(user),
        "supervisor": user_is_supervisor(user),
        "escalations": selectors.escalations_for(user),
        "decisions": selectors.decisions_pending_for(user),
    }


@require_GET
@desk_view
def desk_lists(request):
    """The desk's lists as they are now, swapped in whole: what a desk fetches when its socket
    reconnects and every DESK_RESYNC_SECONDS, so an event it missed heals by itself."""
    return render(request, "reviews/_desk_lists.html", desk_lists_context(request.user))


@require_POST
@desk_view
def presence(request):
    form = PresenceForm(request.POST)
    if not form.is_valid():
        return form_notice(request, form)
    agent = services.human_agent_set_status(request.user, form.cleaned_data["status"])
    if request.htmx:
        return render(request, "reviews/_presence.html", {"agent": agent})
    return redirect("desk:home")


@require_POST
@desk_view
def claim(request, conversation_id):
    services.handover_claim(request.user, conversation_id)
    to = reverse("desk:conversation", args=[conversation_id])
    if request.htmx:
        return HttpResponse(headers={"HX-Redirect": to})
    return redirect(to)


# The workspace -----------------------------------------------------------------------------


@require_GET
@desk_view
def workspace(request, conversation_id):
    return workspace_page(request, selectors.access_conversation(request.user, conversation_id))


def workspace_page(request, conversation: Conversation, draft: str = ""):
    transcript, has_earlier = selectors.transcript(conversation)
    context = workspace_state_context(request.user, conversation) | {
        "transcript": transcript,
        "has_earlier": has_earlier,
        "run_traces": selectors.conversation_run_traces(conversation.pk),
        "previous": selectors.previous_conversations(conversation, request.user),
        "draft": draft,
        "max_chars": settings.WIDGET_MAX_MESSAGE_CHARS,
        "heartbeat_seconds": settings.DESK_HEARTBEAT_SECONDS,
        "resync_seconds": settings.DESK_RESYNC_SECONDS,
    }
    return render(request, "reviews/workspace.html", context)


def workspace_state_context(user, conversation: Conversation) -> dict:
    """What the status panel and its actions need; the socket re-renders it on every change."""
    can_act = conversation.status == S.HUMAN_ACTIVE and (
        conversation.assignee_id == user.pk or user_is_supervisor(user)
    )
    return {
        "conversation": conversation,
        "open_review": selectors.open_review_of(conversation, user),
        "assignee_name": assignee_name(conversation),
        "seen_through": selectors.latest_message_id(conversation),
        "can_act": can_act,
        "can_claim": conversation.status == S.PENDING_HUMAN,
        "colleagues": selectors.colleagues_for(conversation, user) if can_act else [],
        "skills": selectors.skills_in_use() if can_act else [],
    }


@require_GET
@desk_view
def workspace_resync(request, conversation_id):
    """The status panel and the latest transcript page as they are now, for a workspace whose
    socket reconnected (or that checks in every DESK_RESYNC_SECONDS): missed events heal."""
    conversation = selectors.access_conversation(request.user, conversation_id)
    transcript, _ = selectors.transcript(conversation)
    context = workspace_state_context(request.user, conversation) | {"transcript": transcript, "oob": True}
    return render(request, "reviews/_workspace_resync.html", context)


@require_GET
@desk_view
def earlier_messages(request, conversation_id):
    conversation = selectors.access_conversation(request.user, conversation_id)
    form = EarlierForm(request.GET)
    if not form.is_valid():
        return form_notice(request, form, back=conversation_id)
    transcript, has_earlier = selectors.transcript(conversation, before=form.cleaned_data["before"])
    return render(
        request,
        "reviews/_earlier.html",
        {"conversation": conversation, "transcript": transcript, "has_earlier": has_earlier},
    )


@require_POST
@desk_view
def reply(request, conversation_id):
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return form_notice(request, form, back=conversation_id)
    message = services.reply_send(
        request.user, conversation_id, form.cleaned_data["content"], internal=form.cleaned_data["internal"]
    )
    if request.htmx:
        return render(request, "reviews/_message.html", {"message": message})
    return redirect("desk:conversation", conversation_id)


@require_POST
@desk_view
def suggest(request, conversation_id):
    conversation = selectors.access_conversation(request.user, conversation_id)
    suggestion = services.reply_suggest(conversation)
    if request.htmx:
        return render(
            request, "reviews/_reply_box.html", {"draft": suggestion, "max_chars": settings.WIDGET_MAX_MESSAGE_CHARS}
        )
    return workspace_page(request, conversation, draft=suggestion)


@require_GET
@desk_view
def canned(request, conversation_id):
    conversation = selectors.access_conversation(request.user, conversation_id)
    form = CannedSearchForm(request.GET)
    if not form.is_valid():
        return form_notice(request, form, back=conversation_id)
    responses = selectors.canned_responses_for(conversation, form.cleaned_data["q"])
    customer = conversation.customer.name
    return render(
        request,
        "reviews/_canned_list.html",
        {
            "responses": [(response, response.text_for(customer)) for response in responses],
            "query": form.cleaned_data["q"],
        },
    )


@require_POST
@desk_view
def release(request, conversation_id):
    services.handover_release(request.user, conversation_id)
    return done(request, "Released: the conversation is back in the queue.", reverse("desk:home"))


@require_POST
@desk_view
def transfer(request, conversation_id):
    # First: outside the agent's inboxes the conversation does not exist, whatever the form says.
    selectors.access_conversation(request.user, conversation_id)
    form = TransferForm(request.POST)
    if not form.is_valid():
        return form_notice(request, form, back=conversation_id)
    if form.cleaned_data["to_skill"]:
        skill = form.cleaned_data["to_skill"]
        if skill not in selectors.skills_in_use():
            return notice(request, f"No agent has the skill {skill}.", back=conversation_id)
        services.handover_transfer_to_skill(request.user, conversation_id, skill)
        return done(
            request,
            f"Transferred to {skill}: it waits in the queue for an agent with that skill.",
            reverse("desk:home"),
        )
    colleague = get_user_model().objects.filter(pk=form.cleaned_data["to_agent"]).first()
    if colleague is None:
        return notice(request, services.NO_SUCH_COLLEAGUE, status=404, back=conversation_id)
    services.handover_transfer_to_agent(request.user, conversation_id, colleague)
    return done(request, f"Transferred to {person_name(colleague)}.", reverse("desk:home"))


@require_POST
@desk_view
def return_to_ai(request, conversation_id):
    services.handover_return_to_ai(request.user, conversation_id)
    return done(request, "Returned to the AI: it answers the customer's next message.", reverse("desk:home"))


@require_POST
@desk_view
def resolve(request, conversation_id):
    selectors.access_conversation(request.user, conversation_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return form_notice(request, form, back=conversation_id)
    conversation = services.handover_resolve(
        request.user, conversation_id, seen_through=form.cleaned_data["seen_through"]
    )
    asked = " The customer was asked for a rating." if conversation.inbox.csat_enabled else ""
    return done(request, f"Resolved.{asked}", reverse("desk:home"))
