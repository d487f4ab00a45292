"""The knowledge base: chunking, ingestion by the real worker, hybrid search, and its admin."""

from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from agents import llm
from agents.knowledge import search as knowledge_search
from agents.knowledge.chunking import chunk_text
from agents.knowledge.extraction import KnowledgeFileRefused, extract_text, read_upload
from agents.knowledge.search import matching_chunk_ids, search
from agents.knowledge.services import (
    knowledge_demo_ensure,
    knowledge_document_delete,
    knowledge_document_save,
    knowledge_ingest,
    knowledge_reembed_all,
)
from agents.models import KnowledgeChunk, KnowledgeDocument
from conversations.services import inbox_ensure
from tests.processes import wait_until

Status = KnowledgeDocument.Status

RETURNS = """# Returns

You can send back anything within 30 days.

## How to return

Print the label from your account and drop the parcel at any DHL point.

### Returns from abroad

Customers outside the EU pay the return postage.
"""


def ids_of_chunks(document) -> set[int]:
    return set(KnowledgeChunk.objects.filter(document=document).values_list("pk", flat=True))


def status_of(document) -> str:
    return KnowledgeDocument.objects.get(pk=document.pk).status


def wait_until_ingested(document, timeout: float = 30) -> KnowledgeDocument:
    wait_until(lambda: status_of(document) in (Status.READY, Status.FAILED), "the worker to ingest", timeout)
    return KnowledgeDocument.objects.get(pk=document.pk)


def document_saved(title="Returns", body=RETURNS, **fields) -> KnowledgeDocument:
    return knowledge_document_save(KnowledgeDocument(title=title, body=body, **fields))


def document_ingested(title="Returns", body=RETURNS, **fields) -> KnowledgeDocument:
    document = KnowledgeDocument.objects.create(title=title, body=body, **fields)
    knowledge_ingest(document.pk)
    return KnowledgeDocument.objects.get(pk=document.pk)


# Chunking (a pure function) ------------------------------------------------------------------


def test_every_chunk_carries_the_heading_path_of_its_section():
    chunks = chunk_text(RETURNS, title="Returns")

    assert [(chunk.heading, chunk.text[:20]) for chunk in chunks] == [
        ("Returns", "You can send back an"),
        ("Returns › How to return", "Print the label from"),
        ("Returns › How to return › Returns from abroad", "Customers outside th"),
    ]
    assert [chunk.position for chunk in chunks] == [0, 1, 2]


def test_a_heading_one_level_up_closes_the_deeper_sections():
    text = "# Shop\n\n### Deep\n\nOne.\n\n### Deeper sibling\n\nTwo.\n\n## Side\n\nThree."

    headings = [chunk.heading for chunk in chunk_text(text, title="Shop")]

    assert headings == ["Shop › Deep", "Shop › Deeper sibling", "Shop › Side"]


def test_a_long_section_is_split_into_chunks_that_overlap():
    sentences = [f"Sentence {number} explains one more detail of the return policy." for number in range(40)]
    text = "## Details\n\n" + " ".join(sentences)

    chunks = chunk_text(text, title="Returns", max_chars=300, overlap_chars=100)

    assert len(chunks) > 5
    assert all(len(chunk.text) <= 300 for chunk in chunks)
    assert {chunk.heading for chunk in chunks} == {"Details"}
    for previous, following in zip(chunks, chunks[1:], strict=False):
        last_sentence = previous.text.rsplit(". ", 1)[-1]
        assert following.text.startswith(last_sentence), "each chunk starts with the end of the one before"
    every_sentence_whole = all(any(sentence in chunk.text for chunk in chunks) for sentence in sentences)
    assert every_sentence_whole


def test_a_sentence_longer_than_a_chunk_is_cut_at_words():
    text = "word " * 500

    chunks = chunk_text(text, title="Words", max_chars=200, overlap_chars=50)

    assert all(len(chunk.text) <= 200 and not chunk.text.endswith("wor") for chunk in chunks)
    assert chunks[1].text.startswith("word word")


def test_sections_are_never_merged_so_overlap_stays_inside_a_section():
    chunks = chunk_text("# A\n\nAlpha text.\n\n# B\n\nBeta text.", title="T", max_chars=300, overlap_chars=100)

    assert [(chunk.heading, chunk.text) for chunk in chunks] == [("A", "Alpha text."), ("B", "Beta text.")]


def test_a_hash_in_code_or_in_plain_text_is_not_a_heading():
    markdown = "# Setup\n\n```\n# a shell comment\n```\n\nDone."
    plain = "# not a heading in plain text\n\nBody."

    assert [chunk.heading for chunk in chunk_text(markdown, title="T")] == ["Setup"]
    assert [chunk.heading for chunk in chunk_text(plain, title="Plain", headings=False)] == ["Plain"]


# Extraction ----------------------------------------------------------------------------------


def test_html_becomes_text_with_its_headings_kept_and_its_scripts_dropped():
    html = """<html><head><title>Ignored</title><style>h1 {color: red}</style></head><body>
      <h1>Shipping</h1><p>We ship &amp; deliver in <b>3&nbsp;days</b>.</p>
      <script>track("visit")</script>
      <h2>
        Costs <small>(EU)</small>
      </h2>
      <ul><li>Germany: €4.90</li><li>EU: €9.90</li></ul>
    </body></html>"""

    text = extract_text(html, KnowledgeDocument.Format.HTML)

    assert text == "# Shipping\n\nWe ship & deliver in 3 days.\n\n## Costs (EU)\n\n- Germany: €4.90\n- EU: €9.90"
    assert [chunk.heading for chunk in chunk_text(text, title="T")] == ["Shipping", "Shipping › Costs (EU)"]


def test_an_upload_is_read_by_its_suffix_and_refused_when_unreadable():
    assert read_upload(SimpleUploadedFile("faq.md", b"# FAQ\n\nText")) == ("# FAQ\n\nText", "markdown")
    assert read_upload(SimpleUploadedFile("page.HTML", b"<p>x</p>"))[1] == "html"
    with pytest.raises(KnowledgeFileRefused, match="not UTF-8"):
        read_upload(SimpleUploadedFile("faq.txt", "Größe".encode("latin-1")))
    with pytest.raises(KnowledgeFileRefused, match=r"\.md, \.html or \.txt"):
        read_upload(SimpleUploadedFile("faq.pdf", b"%PDF-1.7"))


# Ingestion through the real Celery worker ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_saved_document_is_ingested_by_the_worker(live_worker):
    document = document_saved()
    assert document.status == Status.PENDING

    document = wait_until_ingested(document)

    assert (document.status, document.progress, document.error) == (Status.READY, 100, "")
    assert document.embedding_model == llm.EMBEDDING_MODEL
    chunks = list(document.chunks.order_by("position"))
    assert [chunk.heading for chunk in chunks][-1] == "Returns › How to return › Returns from abroad"
    assert all(chunk.embedding is not None and chunk.search for chunk in chunks)


@pytest.mark.django_db(transaction=True)
def test_an_edited_document_is_rechunked_and_its_old_chunks_are_gone(live_worker):
    document = wait_until_ingested(document_saved())
    old_chunks = ids_of_chunks(document)

    document.body = RETURNS.replace("30 days", "60 days") + "\n## Exchanges\n\nWe do not swap items.\n"
    knowledge_document_save(document)
    document = wait_until_ingested(document)

    assert ids_of_chunks(document).isdisjoint(old_chunks)
    assert not KnowledgeChunk.objects.filter(pk__in=old_chunks).exists()
    assert "60 days" in document.chunks.get(position=0).text
    assert document.chunks.order_by("position").last().heading == "Returns › Exchanges"


@pytest.mark.django_db(transaction=True)
def test_saving_an_unchanged_document_embeds_nothing_again(live_worker):
    document = wait_until_ingested(document_saved())
    chunks = ids_of_chunks(document)

    document.source = "https://shop.example/returns"  # not part of the content
    knowledge_document_save(document)

    assert status_of(document) == Status.READY
    assert knowledge_ingest(document.pk) is False, "the task, run anyway, finds it current"
    assert ids_of_chunks(document) == chunks


@pytest.mark.django_db(transaction=True)
def test_a_deleted_document_leaves_no_chunks(live_worker):
    document = wait_until_ingested(document_saved())
    assert ids_of_chunks(document)

    knowledge_document_delete(document.pk)

    assert not KnowledgeDocument.objects.filter(pk=document.pk).exists()
    assert KnowledgeChunk.objects.count() == 0
    assert knowledge_ingest(document.pk) is False, "a task still queued for it does nothing"


@pytest.mark.django_db(transaction=True)
def test_a_document_without_text_fails_with_the_reason(live_worker):
    document = document_saved(format=KnowledgeDocument.Format.HTML, body="<script>alert(1)</script>")

    document = wait_until_ingested(document)

    assert document.status == Status.FAILED
    assert "no text" in document.error
    assert not document.chunks.exists()


# Search -----------------------------------------------------------------------------------


@pytest.fixture
def demo_knowledge(db):
    knowledge_demo_ensure()


@pytest.mark.parametrize(
    ("question", "document_title"),
    [
        ("how long until my money comes back", "Refund timing: when you get your money back"),
        ("can I exchange a sweater for another size", "Return policy: 30 days"),
        ("I forgot my login", "Password reset and signing in"),
        ("do you deliver to Switzerland", "International shipping"),
        ("my blender broke after a year", "Warranty and guarantee"),
        ("does my voucher expire", "Gift cards"),
    ],
)
def test_search_finds_the_passage_that_answers_a_paraphrased_question(demo_knowledge, question, document_title):
    passages = search(question, limit=3)

    assert passages[0].document_title == document_title
    assert [passage.score for passage in passages] == sorted((passage.score for passage in passages), reverse=True)


def test_search_finds_how_long_a_refund_takes(demo_knowledge):
    best = search("how long until my money comes back")[0]

    assert best.heading == "Refund timing: when you get your money back › How long a refund takes"
    assert "5 business days" in best.text and best.similarity > 0.4


def test_gibberish_finds_only_passages_of_low_similarity(demo_knowledge):
    passages = search("xqzt blorp vrumm")

    assert all(passage.similarity < 0.3 for passage in passages)
    assert search("   ") == []


def test_demo_knowledge_is_created_once_and_kept_as_edited(demo_knowledge):
    KnowledgeDocument.objects.filter(title="Gift cards").update(title="Vouchers")

    assert knowledge_demo_ensure() == 0
    assert KnowledgeDocument.objects.count() == 40
    assert KnowledgeDocument.objects.filter(title="Vouchers").exists()
    assert set(KnowledgeDocument.objects.values_list("status", flat=True)) == {Status.READY}


def test_demo_articles_exist_in_every_widget_language(demo_knowledge):
    by_language = Counter(KnowledgeDocument.objects.values_list("language", flat=True))

    assert by_language == {"en": 10, "de": 10, "fr": 10, "es": 10}
    assert KnowledgeDocument.objects.filter(title="Zahlungsarten", language="de").exists()


@pytest.mark.django_db
def test_a_question_is_searched_in_its_language_and_in_english_only():
    document_ingested("Shipping", "Shipping to Germany takes 1–3 business days.")
    document_ingested("Versand", "Der Versand nach Deutschland dauert 1–3 Werktage.", language="de")
    document_ingested("Livraison", "La livraison en Allemagne prend 1 à 3 jours ouvrés.", language="fr")

    def titles(question):
        # Of these three articles: what other tests left in the shared database is not the point.
        found = [passage.document_title for passage in search(question, limit=10)]
        return [title for title in found if title in {"Shipping", "Versand", "Livraison"}]

    assert set(titles("Wie lange dauert der Versand nach Deutschland?")) == {"Versand", "Shipping"}
    assert titles("How long does shipping to Germany take?") == ["Shipping"]
    assert set(titles("Combien de temps prend la livraison en Allemagne ?")) == {"Livraison", "Shipping"}


@pytest.mark.django_db(transaction=True)
def test_the_vector_search_setting_stays_with_its_own_query():
    document_ingested()

    def ef_search():
        with connection.cursor() as cursor:
            cursor.execute("SHOW hnsw.ef_search")
            return int(cursor.fetchone()[0])

    default = ef_search()
    assert knowledge_search.HNSW_EF_SEARCH != default
    assert search("How do I return a parcel?")[0].document_title == "Returns"
    # Outside a transaction the setting lived as long as the search's own statement: the pooled
    # connection goes to its next user as it was.
    assert ef_search() == default


@pytest.mark.django_db
def test_an_inbox_searches_its_own_and_the_shared_documents_only():
    shop, _ = inbox_ensure(name="Shop", allowed_origins=[], greeting="Hi")
    bikes, _ = inbox_ensure(name="Bikes", allowed_origins=[], greeting="Hi")
    document_ingested("Shop returns", "Shop returns are free within 30 days.", inbox=shop)
    document_ingested("Bike returns", "Bike returns are collected by a freight carrier.", inbox=bikes)
    document_ingested("Everyone", "Returns of any kind need the order number.")

    def titles(inbox_id):
        return {passage.document_title for passage in search("returns", inbox_id=inbox_id, limit=10)}

    assert titles(shop.pk) == {"Shop returns", "Everyone"}
    assert titles(bikes.pk) == {"Bike returns", "Everyone"}
    assert titles(None) == {"Shop returns", "Bike returns", "Everyone"}


@pytest.mark.django_db
def test_search_sees_ready_documents_only():
    document_ingested("Ready", "Parcels to Norway take a week.")
    pending = document_ingested("Pending", "Parcels to Norway are free.")
    KnowledgeDocument.objects.filter(pk=pending.pk).update(status=Status.PENDING)

    assert {passage.document_title for passage in search("parcels to Norway")} == {"Ready"}


def sections(heading: str, sentence: str, count: int) -> str:
    return "\n\n".join(f"## {heading} {number}\n\n{sentence}" for number in range(count))


def matching_titles(question: str) -> list[str]:
    found = matching_chunk_ids(question)
    titles = dict(KnowledgeChunk.objects.filter(pk__in=found).values_list("pk", "document__title"))
    return [titles[chunk_id] for chunk_id in found]


@pytest.mark.django_db
def test_full_text_ranks_the_chunks_with_every_word_of_the_question_when_each_word_matches_too_many(monkeypatch):
    monkeypatch.setattr(knowledge_search, "FULL_TEXT_CANDIDATES", 4)
    document_ingested("Express", sections("Express", "Express lanes are quick.", 6))
    document_ingested("Orders", sections("Orders", "Your order number is on the receipt.", 6))
    document_ingested("Express orders", "An express order leaves the warehouse the same day.")

    assert matching_titles("express order")[0] == "Express orders"


@pytest.mark.django_db
def test_full_text_ranks_the_chunks_with_the_rare_word_of_the_question_before_those_with_its_common_one(monkeypatch):
    monkeypatch.setattr(knowledge_search, "FULL_TEXT_CANDIDATES", 4)
    document_ingested("Orders", sections("Orders", "Your order number is on the receipt.", 8))
    document_ingested("Airships", "Zeppelin rides leave from Friedrichshafen.")
    with connection.cursor() as cursor:
        # What autovacuum does after a change: the statistics tell a common word from a rare one.
        cursor.execute("ANALYZE agents_knowledgechunk")

    assert "Airships" in matching_titles("order zeppelin")


@pytest.mark.django_db
def test_the_opening_of_the_best_article_comes_last_when_the_search_did_not_rank_it():
    document_ingested(
        body=RETURNS + "\n## Refunds for returns abroad\n\nReturn postage from outside the EU is not refunded.\n"
    )

    passages = search("return postage from outside the EU", limit=2)
    openings = search("Can I send back anything within 30 days?", limit=2)

    assert [passage.heading for passage in passages][-1] == "Returns"
    assert passages[0].heading != "Returns" and passages[0].document_title == "Returns"
    assert [passage.heading for passage in openings].count("Returns") == 1


@pytest.mark.django_db
def test_quotes_and_operators_in_a_question_are_searched_as_words():
    document_ingested()

    passages = search("Print the 'label' & (parcel) | !DHL <-> o'clock \\ 5:90*")

    assert passages[0].heading == "Returns › How to return"


@pytest.mark.django_db
def test_an_embedding_model_change_reembeds_every_document(monkeypatch):
    documents = [document_ingested("Returns"), document_ingested("Shipping", "# Shipping\n\nThree days.")]
    old_chunks = set(KnowledgeChunk.objects.values_list("pk", flat=True))

    monkeypatch.setattr(llm, "EMBEDDING_MODEL", "local/another-model-256")
    before = search("return postage abroad")
    reembedded = knowledge_reembed_all()

    assert all(passage.similarity == 0.0 for passage in before), "other-model vectors are not compared"
    assert reembedded == 2
    assert set(KnowledgeDocument.objects.values_list("embedding_model", flat=True)) == {"local/another-model-256"}
    assert old_chunks.isdisjoint(KnowledgeChunk.objects.values_list("pk", flat=True))
    assert search("return postage abroad")[0].similarity > 0.3
    assert knowledge_reembed_all() == 0, "a second run finds nothing left to do"
    assert all(status_of(document) == Status.READY for document in documents)


# Admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_knowledge_admin_pages_render_with_status_progress_and_chunk_count(client, site_admin):
    ready = document_ingested()
    KnowledgeDocument.objects.create(title="Big manual", body="x", status=Status.INGESTING, progress=40)
    client.force_login(site_admin)

    listing = client.get(reverse("admin:agents_knowledgedocument_changelist")).content.decode()
    add = client.get(reverse("admin:agents_knowledgedocument_add"))
    change = client.get(reverse("admin:agents_knowledgedocument_change", args=[ready.pk])).content.decode()

    assert '<progress value="40" max="100"></progress> ingesting 40%' in listing
    assert 'http-equiv="refresh"' in listing, "the list reloads while the worker ingests"
    assert add.status_code == 200
    assert f'<div class="readonly">{ready.chunks.count()}</div>' in change
    assert '<div class="readonly">ready</div>' in change


@pytest.mark.django_db
def test_the_admin_refuses_a_document_with_neither_text_nor_file(client, site_admin):
    client.force_login(site_admin)

    response = client.post(reverse("admin:agents_knowledgedocument_add"), {"title": "Empty", "format": "markdown"})

    assert response.status_code == 200
    assert "Paste the text of the document or upload a file." in response.content.decode()
    assert not KnowledgeDocument.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_uploading_a_markdown_file_in_the_admin_ingests_it(client, site_admin, live_worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(site_admin)
    upload = SimpleUploadedFile("returns-faq.md", RETURNS.encode(), content_type="text/markdown")

    response = client.post(
        reverse("admin:agents_knowledgedocument_add"),
        {"title": "", "language": "en", "format": "text", "body": "", "upload": upload},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    document = wait_until_ingested(KnowledgeDocument.objects.get())
    assert (document.title, document.format, document.source) == ("Returns faq", "markdown", "returns-faq.md")
    assert (document.status, document.body) == (Status.READY, RETURNS)
    assert document.chunks.count() == 3
    assert (tmp_path / document.upload.name).exists()


@pytest.mark.django_db(transaction=True)
def test_the_admin_reembeds_documents_and_deletes_them_with_chunks_and_file(
    client, site_admin, live_worker, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("r.md", RETURNS.encode())
    document = wait_until_ingested(knowledge_document_save(KnowledgeDocument(title="Returns"), upload=upload))
    chunks = ids_of_chunks(document)
    client.force_login(site_admin)
    changelist = reverse("admin:agents_knowledgedocument_changelist")

    client.post(changelist, {"action": "reembed", "_selected_action": [document.pk]})
    assert status_of(document) == Status.PENDING
    wait_until_ingested(document)
    assert ids_of_chunks(document).isdisjoint(chunks), "re-embedded although nothing changed"

    delete = reverse("admin:agents_knowledgedocument_delete", args=[document.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not KnowledgeDocument.objects.exists() and not KnowledgeChunk.objects.exists()
    assert not (tmp_path / document.upload.name).exists(), "the uploaded file went with it"
