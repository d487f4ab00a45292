from conversations.models import AuditEvent
from hilconsole.prepared import insert_row


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
    return insert_row(event)
