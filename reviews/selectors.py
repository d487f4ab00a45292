"""Reads the desk's views share. Authorization lives here, so a view cannot forget it.

An agent works the inboxes they hold `conversations.work_inbox` on (django-guardian, granted
per inbox in the admin); anything of another inbox does not exist for them (404).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from guardian.ctypes import get_content_type
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import get_users_with_perms
from psycopg import sql

from agents import selectors as agents_selectors
from agents.models import Tool
from conversations.models import Conversation, Inbox, Message
from conversations.selectors import WORK_INBOX, inbox_ids_worked_by, object_ids_granted  # noqa: F401  (reviews.services grants it)
from hilconsole.prepared import prepared_cursor
from reviews.models import CannedResponse, HumanAgent, ReviewTask
from reviews.roles import DESK_ROLES, REVIEWER, user_desk_roles, user_is_supervisor

S = Conversation.Status
QUEUE_LIMIT = 100
TRANSCRIPT_PAGE = 100


def inbox_ids_for(user, *, fresh: bool = False) -> frozenset[int]:
    """The inboxes the user works, read once per user object (a request), as Django caches
    permissions; a long-lived socket asks for `fresh` ones on each heartbeat."""
    if not user.is_authenticated:
        return frozenset()
    if fresh or not hasattr(user, "_work_inbox_ids"):
        user._work_inbox_ids = inbox_ids_worked_by(user)
    return user._work_inbox_ids


def inboxes_for(user) -> QuerySet[Inbox]:
    return Inbox.objects.filter(pk__in=inbox_ids_for(user))


def may_work_inbox(user, inbox_id: int) -> bool:
    return inbox_id in inbox_ids_for(user)


def conversations_visible_to(user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(inbox_id__in=inbox_ids_for(user))


def access_conversation(user, conversation_id: int) -> Conversation:
    """The conversation, if the user works its inbox; otherwise it does not exist for them."""
    conversation = (
        conversations_visible_to(user)
        .select_related("inbox", "customer", "assignee__human_agent")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation in your inboxes.")
    return conversation


@dataclass(frozen=True)
class HandoverState:
    inbox_id: int
    status: str
    assignee_id: int | None
    assignee_name: str
    required_skills: list[str]


def access_handover(user, conversation_id: int) -> HandoverState:
    """What a claim checks first: the handover's state, its owner's name, and whether the user
    works its inbox. Every loser of a claim race asks, so it is one statement, written once."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _HANDOVER_STATE,
            {
                "conversation": conversation_id,
                "user": user.pk,
                "inbox_type": get_content_type(Inbox).pk,
                "codename": WORK_INBOX.split(".")[1],
            },
        )
        row = cursor.fetchone()
    # As inbox_ids_worked_by: a superuser works every inbox, an inactive person none.
    if row is None or not user.is_active or not (user.is_superuser or row[-1]):
        raise Http404("No such conversation in your inboxes.")
    inbox_id, status, assignee_id, required_skills, assignee_name, _ = row
    skills = Conversation._meta.get_field("required_skills").from_db_value(required_skills, None, connection)
    return HandoverState(inbox_id, status, assignee_id, assignee_name, skills)


def _handover_state() -> sql.Composed:
    """The conversation with its owner's name (desk name, first name or username) and the user's
    grant of its inbox, directly or through a group (django-guardian's rows). It replaces ORM
    queries that cost a claim more CPU to compose than to run, and is written with subqueries
    rather than joins, which PostgreSQL plans in half the time: planning is most of its cost."""
    statement = """
        SELECT c.inbox_id, c.status, c.assignee_id, c.required_skills,
               COALESCE((
                   SELECT COALESCE(NULLIF(a.display_name, ''), NULLIF(u.first_name, ''), u.username)
                   FROM {users} u LEFT JOIN {agents} a ON a.user_id = u.id WHERE u.id = c.assignee_id
               ), ''),
               c.inbox_id::text IN (
                   SELECT g.object_pk FROM {user_grants} g
                   WHERE g.user_id = %(user)s AND g.content_type_id = %(inbox_type)s AND g.permission_id = (
                       SELECT p.id FROM {permissions} p
                       WHERE p.content_type_id = %(inbox_type)s AND p.codename = %(codename)s
                   )
                   UNION ALL
                   SELECT g.object_pk FROM {group_grants} g JOIN {memberships} m ON m.group_id = g.group_id
                   WHERE m.user_id = %(user)s AND g.content_type_id = %(inbox_type)s AND g.permission_id = (
                       SELECT p.id FROM {permissions} p
                       WHERE p.content_type_id = %(inbox_type)s AND p.codename = %(codename)s
                   )
               )
        FROM {conversations} c
        WHERE c.id = %(conversation)s
    """
    User = get_user_model()
    return sql.SQL(statement).format(
        **{
            name: sql.Identifier(model._meta.db_table)
            for name, model in {
                "conversations": Conversation,
                "users": User,
                "agents": HumanAgent,
                "user_grants": UserObjectPermission,
                "group_grants": GroupObjectPermission,
                "permissions": Permission,
                "memberships": User.groups.through,
            }.items()
        }
    )


_HANDOVER_STATE = _handover_state().as_string()  # composed once, not at every execution


def agent_skills(user) -> list[str]:
    agent = HumanAgent.objects.filter(user=user).only("skills").first()
    return agent.skills if agent else []


def queue_for_agent(user, limit: int = QUEUE_LIMIT) -> list[Conversation]:
    """Waiting handovers of the agent's inboxes that need no skill they lack: highest priority,
    then longest waiting, first. Supervisors see every waiting handover of their inboxes."""
    return list(_queue(user)[:limit])


def queue_size_for_agent(user) -> int:
    return _queue(user).count()


def _queue(user) -> QuerySet[Conversation]:
    waiting = conversations_visible_to(user).filter(status=S.PENDING_HUMAN)
    if not user_is_supervisor(user):
        waiting = waiting.filter(required_skills__contained_by=agent_skills(user))
    return waiting.select_related("customer", "inbox").order_by("-priority", "pending_human_at", "pk")


def queue_row(conversation_id: int) -> Conversation | None:
    """One waiting handover as its queue row shows it; the desk socket checks who may see it."""
    return Conversation.objects.select_related("customer", "inbox").filter(pk=conversation_id).first()


def conversations_of_agent(user) -> list[Conversation]:
    mine = conversations_visible_to(user).filter(assignee=user, status=S.HUMAN_ACTIVE)
    return list(mine.select_related("customer", "inbox").order_by("human_active_at", "pk"))


def open_count(user) -> int:
    return Conversation.objects.filter(assignee=user, status=S.HUMAN_ACTIVE).count()


def escalations_for(user, limit: int = 20) -> list[Conversation]:
    """Escalated handovers still waiting, for a supervisor's desk."""
    if not user_is_supervisor(user):
        return []
    waiting = conversations_visible_to(user).filter(status=S.PENDING_HUMAN, escalated_at__isnull=False)
    return list(waiting.select_related("customer", "inbox").order_by("escalated_at")[:limit])


def transcript(conversation: Conversation, *, before: int | None = None, limit: int = TRANSCRIPT_PAGE):
    """The latest `limit` messages (before a message id), oldest first, and whether more are older."""
    messages = conversation.messages.select_related("author__human_agent")
    if before is not None:
        messages = messages.filter(pk__lt=before)
    page = list(messages.order_by("-pk")[: limit + 1])
    return list(reversed(page[:limit])), len(page) > limit


def latest_message_id(conversation: Conversation) -> int:
    """The newest message of the conversation (what a freshly rendered page has shown)."""
    return conversation.messages.order_by("-pk").values_list("pk", flat=True).first() or 0


def latest_customer_words(conversation: Conversation, messages: int = 3) -> str:
    """The customer's latest messages since anyone else spoke, oldest first, as one question."""
    words = []
    for sender, content in conversation.messages.order_by("-pk").values_list("sender", "content")[:20]:
        if sender == Message.Sender.NOTE:
            continue
        if sender != Message.Sender.CUSTOMER:
            if words:
                break
            continue
        words.append(content)
        if len(words) == messages:
            break
    return "\n".join(reversed(words))


def message_for_desk(message_id: int) -> Message | None:
    return Message.objects.select_related("author__human_agent", "conversation__customer").filter(pk=message_id).first()


def previous_conversations(conversation: Conversation, user, limit: int = 10) -> list[Conversation]:
    earlier = conversations_visible_to(user).filter(customer=conversation.customer).exclude(pk=conversation.pk)
    return list(earlier.order_by("-created_at")[:limit])


def people_working(inbox: Inbox) -> QuerySet:
    """The people on the desk granted the inbox, directly or through a group: active, with a
    desk role (or superusers). Nobody else may be handed its conversations or see them listed."""
    granted = get_users_with_perms(
        inbox, only_with_perms_in=["work_inbox"], with_group_users=True, with_superusers=False
    )
    on_the_desk = Q(is_superuser=True) | Q(groups__name__in=DESK_ROLES)
    return granted.filter(on_the_desk, is_active=True).distinct()


def colleagues_for(conversation: Conversation, user) -> list[HumanAgent]:
    """Who the conversation can be transferred to: the inbox's other agents."""
    agents = HumanAgent.objects.filter(user__in=people_working(conversation.inbox)).exclude(user=user)
    agents = agents.select_related("user")
    return list(agents.order_by("status", "user__first_name"))


def skills_in_use() -> list[str]:
    skills = set()
    for agent_skills_list in HumanAgent.objects.values_list("skills", flat=True):
        skills.update(agent_skills_list)
    return sorted(skills)


def canned_responses_for(conversation: Conversation, query: str, limit: int = 8) -> list[CannedResponse]:
    found = CannedResponse.objects.filter(Q(inbox__isnull=True) | Q(inbox_id=conversation.inbox_id))
    if query:
        found = found.filter(Q(shortcut__icontains=query) | Q(title__icontains=query) | Q(content__icontains=query))
    return list(found.order_by("shortcut")[:limit])


def conversation_run_traces(conversation_id: int) -> list[dict]:
    """The traces of the conversation's latest AI runs, newest first (the agents app's runs)."""
    return agents_selectors.conversation_run_traces(conversation_id)


# Review tasks ------------------------------------------------------------------------------

APPROVE_TOOL = "agents.approve_tool"
RISK_ORDER = Case(
    *(When(risk=risk, then=Value(rank)) for rank, risk in enumerate(["critical", "high", "medium", "low"])),
    default=Value(4),
    output_field=IntegerField(),
)


def approvable_tool_ids(user, *, fresh: bool = False) -> frozenset[int]:
    """The tools whose calls the user may approve (`agents.approve_tool`, granted per tool to
    them or a group on the tool's Object permissions page); read once per user object."""
    if not user.is_authenticated:
        return frozenset()
    if fresh or not hasattr(user, "_approvable_tool_ids"):
        if user.is_superuser:
            user._approvable_tool_ids = frozenset(Tool.objects.values_list("pk", flat=True))
        else:
            user._approvable_tool_ids = object_ids_granted(user, Tool, APPROVE_TOOL)
    return user._approvable_tool_ids


def reviews_drafts(user) -> bool:
    """Reviewers and supervisors decide on the AI's own work (of the inboxes they work): draft
    replies, applications, reports to sign off."""
    return user.is_superuser or user_is_supervisor(user) or REVIEWER in user_desk_roles(user)


@dataclass(frozen=True)
class ReviewerScope:
    """Which review tasks a person sees and decides: of the inboxes they work, the calls of
    tools they may approve, and the AI's own work (draft replies, applications, reports) if they
    review it (`drafts`)."""

    inbox_ids: frozenset[int]
    tool_ids: frozenset[int]
    drafts: bool

    def sees(self, *, inbox_id: int, tool_id: int | None, kind: str) -> bool:
        if inbox_id not in self.inbox_ids:
            return False
        return tool_id in self.tool_ids if tool_id else kind in ReviewTask.WORK_KINDS and self.drafts

    def tasks(self) -> QuerySet[ReviewTask]:
        mine = Q(tool_id__in=self.tool_ids)
        if self.drafts:
            mine |= Q(kind__in=ReviewTask.WORK_KINDS)
        return ReviewTask.objects.filter(mine, inbox_id__in=self.inbox_ids)


def reviewer_scope(user, *, fresh: bool = False) -> ReviewerScope:
    return ReviewerScope(inbox_ids_for(user, fresh=fresh), approvable_tool_ids(user, fresh=fresh), reviews_drafts(user))


def review_tasks_visible_to(user) -> QuerySet[ReviewTask]:
    return reviewer_scope(user).tasks()


def open_review_tasks(user, limit: int = 100) -> list[ReviewTask]:
    """The user's open tasks, most urgent first: nearest deadline, then highest risk."""
    tasks = review_tasks_visible_to(user).filter(status=ReviewTask.Status.OPEN).annotate(risk_rank=RISK_ORDER)
    return list(
        tasks.select_related("tool", "conversation__customer", "inbox").order_by("deadline", "risk_rank", "pk")[:limit]
    )


def access_review_task(user, task_id: int, *, lock: bool = False) -> ReviewTask:
    """The task, if the user may see it; with `lock`, its row locked for a decision (call
    inside a transaction)."""
    tasks = review_tasks_visible_to(user).filter(pk=task_id)
    if lock:
        tasks = tasks.select_related("tool").select_for_update(of=("self",))
    else:
        tasks = tasks.select_related("tool", "conversation__customer", "inbox", "run")
    task = tasks.first()
    if task is None:
        raise Http404("No such review task for you.")
    return task


def review_task_row(task_id: int) -> ReviewTask | None:
    """One task as its list row shows it; the desk socket checks who may see it."""
    return ReviewTask.objects.select_related("tool", "conversation__customer", "inbox").filter(pk=task_id).first()


def decisions_pending_for(user, limit: int = 50) -> list[ReviewTask]:
    """Conversations of the agent's inboxes waiting for a reviewer's decision: shown on the desk,
    not claimable (a reviewer may take one over)."""
    waiting = ReviewTask.objects.filter(
        status=ReviewTask.Status.OPEN, inbox_id__in=inbox_ids_for(user), conversation__isnull=False
    )
    return list(waiting.select_related("tool", "conversation__customer", "inbox").order_by("created_at")[:limit])


@dataclass(frozen=True)
class OpenReview:
    """A conversation's open review task as someone on its desk sees it: `task` only for the
    people who may decide it."""

    since: object
    task: ReviewTask | None


def open_review_of(conversation: Conversation, user) -> OpenReview | None:
    task = conversation.review_tasks.filter(status=ReviewTask.Status.OPEN).select_related("tool").first()
    if task is None:
        return None
    visible = reviewer_scope(user).sees(inbox_id=task.inbox_id, tool_id=task.tool_id, kind=task.kind)
    return OpenReview(task.created_at, task if visible else None)
