"""Shared by the desk benchmarks: agents with desk sessions, an inbox they work, handovers
waiting in it, and the ASGI server under test. Not a benchmark itself (no main)."""

import os
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from guardian.shortcuts import assign_perm

from conversations import services as conversations
from conversations.models import Conversation, Inbox
from reviews.models import HumanAgent
from reviews.roles import SUPPORT_AGENT, role_groups_ensure

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def inbox_with_agents(name: str, agents: int, *, max_concurrent: int = 1000) -> tuple[Inbox, list[str]]:
    """An inbox, `agents` support agents who work it (through one group), and their session keys."""
    role_groups_ensure()
    inbox, _ = Inbox.objects.get_or_create(name=name, defaults={"allowed_origins": []})
    team, _ = Group.objects.get_or_create(name=f"{name} team")
    assign_perm("conversations.work_inbox", team, inbox)
    User = get_user_model()
    sessions = []
    for number in range(agents):
        user, _ = User.objects.get_or_create(username=f"{name.lower().replace(' ', '-')}-{number}")
        user.groups.add(team, Group.objects.get(name=SUPPORT_AGENT))
        HumanAgent.objects.update_or_create(user=user, defaults={"max_concurrent": max_concurrent, "skills": []})
        sessions.append(session_for(user))
    return inbox, sessions


def session_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def conversation_with_the_ai(inbox: Inbox) -> int:
    """A customer's conversation the AI is working on: the next step is a handover."""
    conversation, _, _ = conversations.conversation_open(inbox, name="Bench customer")
    conversations.conversation_start_ai(conversation.pk)
    return conversation.pk


def hand_over(conversation_id: int) -> Conversation:
    brief = {"summary": "Asks where the parcel is", "intent": "order_status", "confidence": 0.4}
    return conversations.conversation_hand_over(conversation_id, reason="human_request", **brief)


def start_server(port: int, processes: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hilconsole.asgi:application", "--port", str(port),
         "--workers", str(processes), "--no-access-log", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("The benchmark's web server did not start.") from None
            time.sleep(0.1)
