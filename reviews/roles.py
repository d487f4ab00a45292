"""Who may use the desk. Roles are Django groups, so admins manage them in the admin.

Which inboxes a person works is a separate, per-inbox permission (`conversations.work_inbox`,
django-guardian). Supervisors are members of the "Supervisors" group, or superusers: they see
every handover of their inboxes whatever its skills, get escalations on their desk, and may
release, transfer or resolve a colleague's conversation.
"""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from psycopg import sql

from hilconsole.prepared import columns, instance, prepared_cursor

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
    reads a fresh user. A request's user comes with them (DeskUserBackend)."""
    if not user.is_authenticated:
        return []
    if not hasattr(user, "_desk_roles"):
        with prepared_cursor() as cursor:
            cursor.execute(_desk_roles_of(), [user.pk, list(DESK_ROLES)])
            user._desk_roles = cursor.fetchone()[0]
    return user._desk_roles


class DeskUserBackend(ModelBackend):
    """Django's ModelBackend, but the user of a request is read with their desk roles in one
    statement. Every desk request asks for both, a claim's loser for little else: as two ORM
    queries they cost a refused claim a fifth of its CPU (bench/claim_race.py)."""

    def get_user(self, user_id):
        User = get_user_model()
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:  # a session from elsewhere: nobody, as ModelBackend's lookup would say
            return None
        with prepared_cursor() as cursor:
            cursor.execute(_user_with_desk_roles(), [list(DESK_ROLES), pk])
            row = cursor.fetchone()
        if row is None:
            return None
        user = instance(User, row[:-1])
        user._desk_roles = list(row[-1])
        return user if self.user_can_authenticate(user) else None


# Every desk request asks, before anything else: plain statements, as composing the ORM's
# queries costs more than running them. Each is composed once (functools.cache), not at every run.
@functools.cache
def _user_with_desk_roles() -> str:
    User = get_user_model()
    user_id = sql.Identifier("u", User._meta.pk.column)
    return (
        sql.SQL("SELECT {columns}, {roles} FROM {users} u WHERE {user_id} = %s")
        .format(
            columns=columns(User, "u"),
            roles=_roles(user_id, sql.Placeholder()),
            users=sql.Identifier(User._meta.db_table),
            user_id=user_id,
        )
        .as_string()
    )


@functools.cache
def _desk_roles_of() -> str:
    return sql.SQL("SELECT {roles}").format(roles=_roles(sql.Placeholder(), sql.Placeholder())).as_string()


def _roles(user_id: sql.Composable, names: sql.Composable) -> sql.Composed:
    """The names of a user's groups that are desk roles, as an array (in name order)."""
    return sql.SQL(
        "ARRAY(SELECT g.name FROM {groups} g JOIN {memberships} m ON m.group_id = g.id"
        " WHERE m.user_id = {user_id} AND g.name = ANY({names}) ORDER BY g.name)"
    ).format(
        groups=sql.Identifier(Group._meta.db_table),
        memberships=sql.Identifier(get_user_model().groups.through._meta.db_table),
        user_id=user_id,
        names=names,
    )


def user_may_use_desk(user) -> bool:
    return user.is_authenticated and (user.is_superuser or bool(user_desk_roles(user)))


def user_is_supervisor(user) -> bool:
    return user.is_authenticated and (user.is_superuser or SUPERVISOR in user_desk_roles(user))
