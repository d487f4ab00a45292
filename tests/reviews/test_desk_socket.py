"""The desk's live updates: Channels (Redis layer) → htmx out-of-band swaps of the page's own
partials, on every eligible desk and no other."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from conversations import services as conversations
from conversations.events import conversation_group
from conversations.models import Conversation
from reviews import services
from reviews.models import HumanAgent
from tests.conftest import seen_all
from tests.reviews.conftest import hand_over
from tests.reviews.sockets import anonymous_socket, close_code, desk_socket, frames

pytestmark = pytest.mark.django_db(transaction=True)

run = async_to_sync


async def connected(*sockets):
    for socket in sockets:
        assert (await socket.connect())[0]
    return sockets


async def hand_over_async(inbox, **brief) -> Conversation:
    return await sync_to_async(hand_over)(inbox, **brief)


def test_a_new_handover_appears_on_every_eligible_desk_with_its_brief(ana, ben, inbox):
    ana_desk, ben_desk = desk_socket(ana), desk_socket(ben)

    async def scenario():
        await connected(ana_desk, ben_desk)

        conversation = await hand_over_async(inbox, summary="Parcel is late", intent="order_status")

        for desk in (ana_desk, ben_desk):
            pushed = await frames(desk, f'id="queue-{conversation.pk}" class')
            assert 'hx-swap-oob="beforeend:#queue-list"' in pushed and "Parcel is late" in pushed
            assert f'<div id="queue-{conversation.pk}" hx-swap-oob="delete">' in pushed  # replaces a stale row
            await desk.disconnect()

    run(scenario)()


def test_a_claim_removes_the_row_everywhere_and_adds_it_to_the_claimants_conversations(ana, ben, inbox):
    ana_desk, ben_desk = desk_socket(ana), desk_socket(ben)

    async def scenario():
        await connected(ana_desk, ben_desk)
        conversation = await hand_over_async(inbox)
        for desk in (ana_desk, ben_desk):
            await frames(desk, f'id="queue-{conversation.pk}" class')

        await sync_to_async(services.handover_claim)(ana, conversation.pk)

        on_ben = await frames(ben_desk, f'id="queue-{conversation.pk}" hx-swap-oob="delete"')
        assert f'id="mine-{conversation.pk}" hx-swap-oob="delete"' in on_ben and "beforeend" not in on_ben
        on_ana = await frames(ana_desk, f'id="mine-{conversation.pk}" class')
        assert 'hx-swap-oob="beforeend:#mine-list"' in on_ana
        for desk in (ana_desk, ben_desk):
            await desk.disconnect()

    run(scenario)()


def test_a_resolution_takes_it_off_the_agents_conversations(ana, handover):
    services.handover_claim(ana, handover.pk)

    desk = desk_socket(ana)

    async def scenario():
        await connected(desk)
        seen = await sync_to_async(seen_all)(handover.pk)
        await sync_to_async(services.handover_resolve)(ana, handover.pk, seen_through=seen)
        assert f'id="mine-{handover.pk}" hx-swap-oob="delete"' in await frames(desk, f"mine-{handover.pk}")
        await desk.disconnect()

    run(scenario)()


def test_a_handover_needing_other_skills_never_shows_its_row_to_the_agent(ben, sue, inbox):
    ben_desk, sue_desk = desk_socket(ben), desk_socket(sue)

    async def scenario():
        await connected(ben_desk, sue_desk)

        conversation = await hand_over_async(inbox, required_skills=["billing"], summary="Refund please")

        assert "Refund please" in await frames(sue_desk, f'id="queue-{conversation.pk}" class')
        on_ben = await frames(ben_desk, f"queue-{conversation.pk}")
        assert "Refund please" not in on_ben and "beforeend" not in on_ben
        for desk in (ben_desk, sue_desk):
            await desk.disconnect()

    run(scenario)()


def test_an_agent_without_the_inbox_permission_gets_no_event_of_it(ana, sam, inbox):
    ana_desk, sam_desk = desk_socket(ana), desk_socket(sam)

    async def scenario():
        await connected(ana_desk, sam_desk)

        conversation = await hand_over_async(inbox)

        await frames(ana_desk, f'id="queue-{conversation.pk}" class')
        assert await sam_desk.receive_nothing(timeout=0.5)
        await sync_to_async(services.handover_claim)(ana, conversation.pk)
        await frames(ana_desk, f"mine-{conversation.pk}")
        assert await sam_desk.receive_nothing(timeout=0.3)
        for desk in (ana_desk, sam_desk):
            await desk.disconnect()

    run(scenario)()


def test_a_permission_granted_later_reaches_the_open_desk_at_its_next_heartbeat(ana, sam, inbox):
    sam_desk = desk_socket(sam)

    async def scenario():
        await connected(sam_desk)
        await sync_to_async(services.inbox_grant)(sam, inbox)
        await sam_desk.send_json_to({"type": "heartbeat"})
        await sam_desk.receive_nothing(timeout=0.3)  # the heartbeat has been handled

        conversation = await hand_over_async(inbox)

        await frames(sam_desk, f'id="queue-{conversation.pk}" class')
        await sam_desk.disconnect()

    run(scenario)()


@pytest.mark.parametrize("case, code", [("anonymous", 4401), ("no_desk_role", 4403), ("other_site", 4403)])
def test_a_refused_desk_socket_is_closed_with_a_code(outsider, ana, case, code):
    socket = {
        "anonymous": lambda: anonymous_socket(),
        "no_desk_role": lambda: desk_socket(outsider),
        "other_site": lambda: desk_socket(ana, origin="https://evil.example"),
    }[case]()

    async def scenario():
        await socket.connect()
        assert await socket.receive_output() == {"type": "websocket.close", "code": code}

    run(scenario)()


def test_opening_the_desk_marks_the_agent_online(ana):
    HumanAgent.objects.filter(user=ana).update(status="offline")

    desk = desk_socket(ana)

    async def scenario():
        await connected(desk)
        await desk.disconnect()

    run(scenario)()
    agent = HumanAgent.objects.get(user=ana)
    assert agent.status == "online" and agent.last_seen_at is not None


# The workspace socket ----------------------------------------------------------------------


def test_the_workspace_shows_the_customers_messages_and_typing_live(ana, handover):
    services.handover_claim(ana, handover.pk)

    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/")

    async def scenario():
        await connected(workspace)

        message, _ = await sync_to_async(conversations.message_post_from_customer)(
            handover.pk, content="Are you still there?", client_message_id="late-1"
        )
        pushed = await frames(workspace, f'id="message-{message.pk}"')
        assert 'hx-swap-oob="beforeend:#transcript"' in pushed and "Are you still there?" in pushed

        await get_channel_layer().group_send(
            f"desk.conversation.{handover.pk}", {"type": "desk.customer_typing", "active": True}
        )
        assert "Carla is typing…" in await frames(workspace, 'id="typing"')
        await workspace.disconnect()

    run(scenario)()


def test_the_agents_typing_reaches_the_customers_widget_with_their_name(ana, handover):
    services.handover_claim(ana, handover.pk)

    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/")

    async def scenario():
        layer = get_channel_layer()
        widget = await layer.new_channel()
        await layer.group_add(conversation_group(handover.pk), widget)
        await connected(workspace)

        await workspace.send_json_to({"type": "typing", "active": True})

        assert await layer.receive(widget) == {
            "type": "widget.typing", "sender": "human", "author_name": "Ana", "active": True,
        }  # fmt: skip
        await workspace.disconnect()

    run(scenario)()


def test_a_status_change_redraws_the_workspace_actions(ana, ben, handover):
    workspace = desk_socket(ben, f"/ws/desk/conversations/{handover.pk}/")

    async def scenario():
        await connected(workspace)

        await sync_to_async(services.handover_claim)(ana, handover.pk)

        pushed = await frames(workspace, 'id="workspace-state"')
        assert 'hx-swap-oob="true"' in pushed and "Human Active" in pushed and "Claim</button>" not in pushed
        await workspace.disconnect()

    run(scenario)()


def test_a_colleagues_note_appears_in_the_open_workspace(ana, ben, handover):
    services.handover_claim(ana, handover.pk)

    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/")

    async def scenario():
        await connected(workspace)
        note = await sync_to_async(services.reply_send)(ben, handover.pk, "Customer is a VIP", internal=True)
        assert "Customer is a VIP" in await frames(workspace, f'id="message-{note.pk}"')
        await workspace.disconnect()

    run(scenario)()


def test_a_workspace_socket_outside_the_agents_inboxes_is_closed_with_4404(sam, handover):
    socket = desk_socket(sam, f"/ws/desk/conversations/{handover.pk}/")

    async def scenario():
        await socket.connect()
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4404}

    run(scenario)()


def test_an_inbox_taken_away_closes_its_workspace_and_stops_its_desk_events_at_once(ana, inbox, handover):
    from guardian.shortcuts import remove_perm

    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/")
    desk = desk_socket(ana)

    async def scenario():
        await connected(workspace, desk)
        await sync_to_async(remove_perm)("conversations.work_inbox", ana, inbox)

        assert await close_code(workspace) == 4403
        await desk.receive_nothing(timeout=0.3)  # the desk has re-read its inboxes
        await sync_to_async(hand_over)(inbox)
        assert await desk.receive_nothing(timeout=0.5)
        await desk.disconnect()

    run(scenario)()


# Access lost while connected ---------------------------------------------------------------


@pytest.mark.parametrize("change", ["deactivated", "desk role taken away"])
def test_an_agent_who_loses_the_desk_has_their_open_sockets_closed_with_4403_at_once(ana, handover, change):
    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/")
    desk = desk_socket(ana)

    async def scenario():
        await connected(workspace, desk)

        if change == "deactivated":
            ana.is_active = False
            await sync_to_async(ana.save)()
        else:
            await sync_to_async(ana.groups.clear)()

        assert await close_code(desk) == await close_code(workspace) == 4403

    run(scenario)()


def test_access_lost_without_any_notice_is_found_by_the_timer(ana, inbox, settings):
    settings.DESK_PERMISSION_RECHECK_SECONDS = 0.5
    desk = desk_socket(ana)

    async def scenario():
        await connected(desk)
        # A change that sends no signal (a raw UPDATE), so only the re-check timer can notice it.
        await sync_to_async(type(ana).objects.filter(pk=ana.pk).update)(is_superuser=False, is_active=False)

        assert await close_code(desk, timeout=5) == 4403

    run(scenario)()


def test_signing_out_closes_the_desk_sockets_of_that_session_only(ana, inbox, handover):
    signed_out, other_device = Client(), Client()
    for client in (signed_out, other_device):
        client.force_login(ana)
    desk = desk_socket(ana, client=signed_out)
    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/", client=signed_out)
    elsewhere = desk_socket(ana, client=other_device)

    async def scenario():
        await connected(desk, workspace, elsewhere)

        await sync_to_async(signed_out.post)(reverse("logout"))

        assert await close_code(desk) == 4401 and await close_code(workspace) == 4401
        conversation = await hand_over_async(inbox)
        await frames(elsewhere, f'id="queue-{conversation.pk}" class')
        await elsewhere.disconnect()

    run(scenario)()


# Hostile frames ----------------------------------------------------------------------------


def test_an_agents_typing_reaches_the_customer_a_few_times_a_second_at_most(ana, handover):
    services.handover_claim(ana, handover.pk)
    workspace = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/")

    async def scenario():
        layer = get_channel_layer()
        widget = await layer.new_channel()
        await layer.group_add(conversation_group(handover.pk), widget)
        await connected(workspace)

        for _ in range(30):
            await workspace.send_json_to({"type": "typing", "active": True})
        await workspace.receive_nothing(timeout=0.5)

        passed = 0
        while True:
            try:
                await asyncio.wait_for(layer.receive(widget), timeout=0.3)
            except TimeoutError:
                break
            passed += 1
        assert 1 <= passed <= 3
        await workspace.disconnect()

    run(scenario)()


@pytest.mark.parametrize("path", ["/ws/desk/", "workspace"])
def test_an_over_long_frame_closes_a_desk_socket_with_1009(ana, handover, path):
    socket = desk_socket(ana, f"/ws/desk/conversations/{handover.pk}/" if path == "workspace" else path)

    async def scenario():
        await connected(socket)

        await socket.send_to(text_data=json.dumps({"type": "heartbeat", "pad": "x" * 10_000}))

        assert await close_code(socket) == 1009

    run(scenario)()
