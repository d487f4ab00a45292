import functools

from psycopg import sql

from conversations.models import AuditEvent
from hilconsole.prepared import insert_into, insert_values, inserted, prepared_cursor


def audit_record(*, actor, action: str, target, before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Append one audit event. `actor` is a user, or a label such as "customer" or "ai"."""
    user = actor if getattr(actor, "pk", None) and hasattr(actor, "get_username") else None
    label = user.get_username() if user else str(actor or "system")
    event = AuditEvent(
        actor=user,
        actor_label=label,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        before=before or {},
        after=after or {},
    )
    # One prepared statement: every state change of a conversation writes one.
    with prepared_cursor() as cursor:
        cursor.execute(_event_inserted(), insert_values(event))
        return inserted(event, cursor.fetchone()[0])


@functools.cache
def _event_inserted() -> str:
    return (
        sql.SQL("{insert} RETURNING {id}")
        .format(insert=insert_into(AuditEvent), id=sql.Identifier(AuditEvent._meta.pk.column))
        .as_string()
    )
