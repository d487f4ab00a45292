"""Every write to the knowledge base.

A document saved in the admin is ingested by the worker once committed: its text is extracted,
cut into heading-aware chunks, embedded and indexed for full text. Ingestion is a no-op for a
document whose content and embedding model have not changed, so its task is safe to run twice.
"""

import hashlib
import logging
from pathlib import Path

from django.contrib.postgres.search import SearchVector
from django.db import transaction

from agents import llm
from agents.knowledge.chunking import Chunk, chunk_text
from agents.knowledge.extraction import extract_text, read_upload
from agents.languages import DEFAULT as DEFAULT_LANGUAGE
from agents.languages import TEXT_SEARCH
from agents.models import KnowledgeChunk, KnowledgeDocument

logger = logging.getLogger(__name__)

Status = KnowledgeDocument.Status
EDITABLE_FIELDS = ["title", "source", "inbox", "language", "format", "body", "upload", "updated_at"]
EMBED_BATCH = 64
DEMO_DOCUMENTS = Path(__file__).resolve().parent / "demo_documents"


class KnowledgeIngestError(Exception):
    """The document cannot become chunks; the message is shown to the admin."""


def content_hash(document: KnowledgeDocument) -> str:
    """What the chunks are made of: a change to any of it means re-chunking."""
    content = "\0".join([document.title, document.format, document.body])
    return hashlib.sha256(content.encode()).hexdigest()


def knowledge_document_save(document: KnowledgeDocument, *, upload=None) -> KnowledgeDocument:
    """Create or update a document (an uploaded file replaces the body); ingestion follows in the
    worker once committed, when the content changed or the document is not ready."""
    with transaction.atomic():
        if upload is not None:
            _take_upload(document, upload)
        if document.pk is None:
            document.save()
            stored = document
        else:
            # Locked so that an ingestion finishing now cannot interleave its status with this edit.
            stored = KnowledgeDocument.objects.select_for_update().get(pk=document.pk)
            document.save(update_fields=EDITABLE_FIELDS)
        if not _is_current(stored, content_hash(document)):
            _set_state(document, status=Status.PENDING, progress=0, error="")
            _enqueue_ingest(document.pk)
    return document


def _take_upload(document: KnowledgeDocument, upload) -> None:
    document.body, document.format = read_upload(upload)
    document.source = document.source or Path(upload.name).name
    document.upload = upload


def _is_current(document: KnowledgeDocument, digest: str) -> bool:
    return (
        document.status == Status.READY
        and document.content_hash == digest
        and document.embedding_model == llm.EMBEDDING_MODEL
    )


def _set_state(document: KnowledgeDocument, **fields) -> None:
    KnowledgeDocument.objects.filter(pk=document.pk).update(**fields)
    for field, value in fields.items():
        setattr(document, field, value)


def _enqueue_ingest(document_id: int, *, force: bool = False) -> None:
    from agents.tasks import ingest_document  # agents.tasks imports this module

    transaction.on_commit(lambda: ingest_document.delay(document_id, force=force))


def knowledge_ingest(document_id: int, *, force: bool = False) -> bool:
    """Chunk, embed and index one document; returns whether its chunks were replaced.

    Does nothing for a deleted document, or for one already ingested with this content and this
    embedding model unless `force`d. Progress is committed as it goes, outside the transaction
    that swaps the chunks, so the admin sees it move. A failure marks the document failed with
    the reason.
    """
    document = KnowledgeDocument.objects.filter(pk=document_id).first()
    if document is None:
        return False
    digest = content_hash(document)
    if not force and _is_current(document, digest):
        return False
    try:
        _set_state(document, status=Status.INGESTING, progress=0, error="")
        chunks = _chunks_of(document)
        vectors = _embed(document, chunks)
        return _replace_chunks(document_id, digest, chunks, vectors)
    except KnowledgeIngestError as error:
        _set_state(document, status=Status.FAILED, error=str(error))
        return False
    except Exception as error:
        _set_state(document, status=Status.FAILED, error=f"{type(error).__name__}: {error}")
        raise


def _chunks_of(document: KnowledgeDocument) -> list[Chunk]:
    text = extract_text(document.body, document.format)
    if not text:
        raise KnowledgeIngestError("The document has no text to search: paste some or upload a file.")
    return chunk_text(text, title=document.title, headings=document.format != KnowledgeDocument.Format.TEXT)


def _embed(document: KnowledgeDocument, chunks: list[Chunk]) -> list:
    vectors = []
    for start in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[start : start + EMBED_BATCH]
        vectors.extend(llm.embed_texts([f"{chunk.heading}\n{chunk.text}" for chunk in batch]))
        KnowledgeDocument.objects.filter(pk=document.pk).update(progress=100 * len(vectors) // len(chunks))
    return vectors


def _replace_chunks(document_id: int, digest: str, chunks: list[Chunk], vectors: list) -> bool:
    with transaction.atomic():
        # The row lock orders this with an edit or a deletion of the document. An edit made while
        # we were embedding has queued a newer ingestion, so these chunks are dropped.
        document = KnowledgeDocument.objects.select_for_update().filter(pk=document_id).first()
        if document is None or content_hash(document) != digest:
            return False
        document.chunks.all().delete()
        KnowledgeChunk.objects.bulk_create(
            KnowledgeChunk(document=document, position=chunk.position, heading=chunk.heading, text=chunk.text,
                           embedding=vector)
            for chunk, vector in zip(chunks, vectors, strict=True)
        )  # fmt: skip
        # Stemmed and stripped of stop words in the document's own language ("vous" is no word to find).
        config = TEXT_SEARCH.get(document.language, TEXT_SEARCH[DEFAULT_LANGUAGE])
        document.chunks.update(
            search=SearchVector("heading", weight="A", config=config) + SearchVector("text", weight="B", config=config)
        )
        fields = {"progress": 100, "error": "", "content_hash": digest, "embedding_model": llm.EMBEDDING_MODEL}
        _set_state(document, status=Status.READY, **fields)
    logger.info("Knowledge document %s ingested: %d chunks", document_id, len(chunks))
    return True


def knowledge_reembed_all() -> int:
    """Re-embed every document embedded with another model than `EMBEDDING_MODEL`; returns how many.

    One document at a time, each in its own transaction: a run that is stopped half way (a
    deploy, a killed worker) is continued by the next one from where it stopped. Failed
    documents wait for an admin to fix them.
    """
    stale = KnowledgeDocument.objects.exclude(embedding_model=llm.EMBEDDING_MODEL).exclude(status=Status.FAILED)
    return sum(knowledge_ingest(document_id) for document_id in list(stale.values_list("pk", flat=True)))


@transaction.atomic
def knowledge_documents_reembed(document_ids: list[int]) -> int:
    """Queue the documents for ingestion even if nothing changed (the admin's "Re-embed")."""
    documents = KnowledgeDocument.objects.filter(pk__in=document_ids)
    found = list(documents.values_list("pk", flat=True))
    documents.update(status=Status.PENDING, progress=0, error="")
    for document_id in found:
        _enqueue_ingest(document_id, force=True)
    return len(found)


@transaction.atomic
def knowledge_document_delete(document_id: int) -> None:
    """Delete a document with its chunks and its uploaded file."""
    # Locked first: an ingestion finishing now either commits before us (and the cascade takes
    # its chunks) or finds the document gone; it can never add chunks to a deleted document.
    document = KnowledgeDocument.objects.select_for_update().filter(pk=document_id).first()
    if document is None:
        return
    upload = document.upload
    document.delete()
    if upload:
        transaction.on_commit(lambda: upload.storage.delete(upload.name))


def knowledge_demo_ensure() -> int:
    """Create and ingest the demo documents that are missing; returns how many were created.

    Ingested here rather than by the worker, so that a freshly seeded console can answer at once.
    A demo document that exists is left as it is, edits included. `name.de.md` is the German
    translation of `name.md`.
    """
    created = []
    for path in sorted(DEMO_DOCUMENTS.glob("*.md")):
        body = path.read_text()
        title = body.splitlines()[0].lstrip("# ")
        language = path.suffixes[0].lstrip(".") if len(path.suffixes) > 1 else KnowledgeDocument.Language.ENGLISH
        document, was_created = KnowledgeDocument.objects.get_or_create(
            source=f"demo:{path.name}",
            inbox=None,
            defaults={
                "title": title, "language": language, "format": KnowledgeDocument.Format.MARKDOWN, "body": body,
            },
        )  # fmt: skip
        if was_created:
            created.append(document.pk)
    for document_id in created:
        knowledge_ingest(document_id)
    return len(created)
