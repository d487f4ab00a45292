import cProfile
import io
import pstats
import statistics
import time

import pytest

from agents.pipelines import turns
from conversations import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_prof(live_support_inbox):
    convs = []
    for _ in range(60):
        c, _, _ = services.conversation_open(live_support_inbox, name="x")
        services.message_post_from_customer(
            c.pk, content="How long does shipping take?", client_message_id="a", request_ai_turn=False
        )
        convs.append(c.pk)
    turns.turn_run(convs[0])
    totals = []
    for pk in convs[1:30]:
        t = time.perf_counter()
        turns.turn_run(pk)
        totals.append((time.perf_counter() - t) * 1000)
    print("\nTOTAL", statistics.median(totals))
    pr = cProfile.Profile()
    pr.enable()
    for pk in convs[30:]:
        turns.turn_run(pk)
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(30)
    print(s.getvalue()[:7000])
