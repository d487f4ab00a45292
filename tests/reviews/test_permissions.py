"""Which inboxes an agent works is an object permission an admin grants in the Django admin;
without it, nothing of the inbox exists for them (the socket side is in test_desk_socket)."""

import pytest
from django.urls import reverse

from reviews import selectors

pytestmark = pytest.mark.django_db


def test_an_admin_grants_an_inbox_on_its_object_permissions_page_and_the_agent_sees_its_queue(
    client, site_admin, sam, inbox, handover
):
    client.force_login(sam)
    assert f"queue-{handover.pk}" not in client.get(reverse("desk:home")).content.decode()

    client.force_login(site_admin)
    picked = client.post(
        reverse("admin:conversations_inbox_permissions", args=[inbox.pk]), {"user": "sam", "submit_manage_user": "1"}
    )
    saved = client.post(picked["Location"], {"permissions": ["work_inbox"]})

    assert saved.status_code == 302
    client.force_login(sam)
    assert f"queue-{handover.pk}" in client.get(reverse("desk:home")).content.decode()


def test_a_group_grant_lets_every_member_work_the_inbox(sam, inbox):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    team = Group.objects.create(name="Shop team")
    sam.groups.add(team)
    assign_perm("conversations.work_inbox", team, inbox)

    assert selectors.inbox_ids_for(sam, fresh=True) == {inbox.pk}


def test_an_agent_sees_only_the_conversations_of_the_inboxes_they_work(ana, inbox, other_inbox):
    from tests.reviews.conftest import hand_over

    mine, theirs = hand_over(inbox), hand_over(other_inbox)

    assert [c.pk for c in selectors.queue_for_agent(ana)] == [mine.pk]
    assert selectors.access_conversation(ana, mine.pk) == mine
    with pytest.raises(selectors.Http404):
        selectors.access_conversation(ana, theirs.pk)
