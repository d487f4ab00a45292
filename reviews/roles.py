"""Who may use the desk. Roles are Django groups, so admins manage them in the admin.

Which inboxes a person works is a separate, per-inbox permission (`conversations.work_inbox`,
django-guardian). Supervisors are members of the "Supervisors" group, or superusers: they see
every handover of their inboxes whatever its skills, get escalations on their desk, and may
release, transfer or resolve a colleague's conversation.
"""

from django.contrib.auth.models import Group
from django.db import connection
from psycopg import sql

SUPPORT_AGENT = "Support agents"
REVIEWER = "Reviewers"
SUPERVISOR = "Supervisors"
DESK_ROLES = (SUPPORT_AGENT, REVIEWER, SUPERVISOR)


def role_groups_ensure() -> None:
    for name in DESK_ROLES:
        Group.objects.get_or_create(name=name)


def user_grant_role(user, role: str) -> None:
    if role not in DESK_ROLES:
        raise ValueError(f"Unknown desk role {role!r}; expected one of {DESK_ROLES}.")
    user.groups.add(Group.objects.get(name=role))
    user.__dict__.pop("_desk_roles", None)


def user_desk_roles(user) -> list[str]:
    """Read once per user object, as Django caches permissions: a request asks several times
    (may they use the desk, do they supervise, do they review drafts), a socket's re-check
    reads a fresh user."""
    if not user.is_authenticated:
        return []
    if not hasattr(user, "_desk_roles"):
        with connection.cursor() as cursor:
            cursor.execute(_DESK_ROLES_OF, [user.pk, list(DESK_ROLES)])
            user._desk_roles = [name for (name,) in cursor.fetchall()]
    return user._desk_roles


# Every desk request asks, before anything else: a plain statement, as composing the ORM's
# query costs more than running it (bench/claim_race.py).
_DESK_ROLES_OF = sql.SQL(
    "SELECT g.name FROM {groups} g JOIN {memberships} m ON m.group_id = g.id WHERE m.user_id = %s AND g.name = ANY(%s)"
).format(groups=sql.Identifier(Group._meta.db_table), memberships=sql.Identifier(Group.user_set.through._meta.db_table))


def user_may_use_desk(user) -> bool:
    return user.is_authenticated and (user.is_superuser or bool(user_desk_roles(user)))


def user_is_supervisor(user) -> bool:
    return user.is_authenticated and (user.is_superuser or SUPERVISOR in user_desk_roles(user))
