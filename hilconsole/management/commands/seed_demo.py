from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.demo_data import intent_examples_ensure
from agents.demo_shop.services import demo_orders_ensure
from agents.knowledge.services import knowledge_demo_ensure
from agents.pipelines.defaults import support_agent_ensure
from agents.workflows.defaults import workflows_ensure
from conversations.services import inbox_assign_ai_agent, inbox_ensure
from reviews.review_tasks import rejection_reason_ensure, tool_approvers_grant
from reviews.roles import REVIEWER, SUPPORT_AGENT, role_groups_ensure, user_grant_role
from reviews.services import canned_response_ensure, human_agent_profile_ensure, inbox_grant

DEMO_PASSWORD = "hil-demo"

# The support agents' desk profiles: skills, and open conversations at most.
DEMO_AGENTS = {"ana": (["billing", "returns"], 5), "ben": (["shipping", "technical"], 5)}

DEMO_CANNED_RESPONSES = [
    ("hello", "Greeting", "Hi {name}, thanks for waiting! I'm looking into this for you now."),
    ("refund-timing", "Refund timing", "Refunds reach your account 5 to 10 business days after we receive the return."),
    ("shipping-times", "Shipping times", "Standard delivery takes 3 to 5 business days; express arrives in 1 to 2."),
    (
        "order-number",
        "Ask for the order number",
        "Could you tell me your order number? It starts with # and is in your confirmation email.",
    ),
    ("anything-else", "Anything else?", "Is there anything else I can help you with today, {name}?"),
]

# Tools whose calls the Reviewers group decides on the demo inbox, and the reasons they pick from.
DEMO_APPROVED_TOOLS = ["request_refund", "update_shipping_address"]
DEMO_REJECTION_REASONS = [
    "The order is not eligible for a refund.",
    "The amount is more than what is still refundable.",
    "We need the item back before we can refund it.",
    "The order has already shipped: the address can no longer change.",
]
# What Rita may submit to the back office's API (documents to analyse, refund claims).
DEMO_SUBMIT_PERMISSIONS = ["add_documentanalysis", "add_application"]

# (username, first name, last name, role); role None is the superuser.
DEMO_PEOPLE = [
    ("admin", "Ada", "Admin", None),
    ("ana", "Ana", "Lopez", SUPPORT_AGENT),
    ("ben", "Ben", "Okafor", SUPPORT_AGENT),
    ("rita", "Rita", "Novak", REVIEWER),
]


class Command(BaseCommand):
    help = "Create the demo people and inbox. Safe to run again: existing rows are kept as they are."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off. Demo accounts have a published password.",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("DEBUG is off: refusing to create demo accounts with a known password.")
        with transaction.atomic():
            role_groups_ensure()
            intent_examples_ensure()
            demo_orders_ensure()
            knowledge_demo_ensure()
            created = [username for username, *rest in DEMO_PEOPLE if self._ensure_person(username, *rest)]
            inbox, inbox_created = inbox_ensure(
                name="Demo shop",
                allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"],
                greeting="Hi! I'm the Demo shop assistant. How can I help?",
            )
            agent, agent_created = support_agent_ensure()
            # A new demo inbox, or one from before AI agents existed, gets the demo's AI agent.
            if inbox_created or agent_created:
                inbox_assign_ai_agent(inbox.pk, agent)
            self._ensure_desk(inbox)
            # The back office: document analysis and refund claims, reviewed on the demo inbox.
            workflows = workflows_ensure(inbox)
        self.stdout.write(f"Demo data ready ({len(created)} people and {int(inbox_created)} inbox created).")
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, role in DEMO_PEOPLE:
            skills = DEMO_AGENTS.get(username, ([],))[0]
            desk = f", skills {', '.join(skills)}" if skills else ""
            self.stdout.write(f"  {username:<6} {first} {last}, {role or 'admin (superuser, supervisor)'}{desk}")
        self.stdout.write(f"Inbox {inbox.name!r}, widget token {inbox.widget_token}")
        self.stdout.write(f"Back-office workflows: {', '.join(workflow.name for workflow in workflows)}")

    def _ensure_desk(self, inbox) -> None:
        User = get_user_model()
        for username, (skills, max_concurrent) in DEMO_AGENTS.items():
            agent = User.objects.get(username=username)
            human_agent_profile_ensure(agent, skills=skills, max_concurrent=max_concurrent)
            inbox_grant(agent, inbox)
        for shortcut, title, content in DEMO_CANNED_RESPONSES:
            canned_response_ensure(shortcut, title=title, content=content)
        # Rita reviews the demo inbox's refunds and address changes; the agents do not.
        rita = User.objects.get(username="rita")
        inbox_grant(rita, inbox)
        rita.user_permissions.add(*Permission.objects.filter(codename__in=DEMO_SUBMIT_PERMISSIONS))
        for tool_name in DEMO_APPROVED_TOOLS:
            tool_approvers_grant(Group.objects.get(name=REVIEWER), tool_name)
        for text in DEMO_REJECTION_REASONS:
            rejection_reason_ensure(text)

    def _ensure_person(self, username, first_name, last_name, role) -> bool:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@demo.example",
                "is_staff": True,
                "is_superuser": role is None,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if role:
            user_grant_role(user, role)
        return created
