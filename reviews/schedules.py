"""The desk's periodic tasks (installed by hilconsole.schedules)."""

SCHEDULES = {
    "Desk presence: away, offline, requeue after grace": ("reviews.presence_sweep", 15),
    "Desk service levels: escalate unclaimed handovers": ("reviews.sla_sweep", 15),
    "Desk assignment: hand out handovers that waited too long": ("reviews.assignment_sweep", 30),
    "Reviews: escalate and expire undecided review tasks": ("reviews.review_deadline_sweep", 30),
}
