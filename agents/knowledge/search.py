"""Hybrid search of the knowledge base: the nearest passages by meaning and by words, fused.

The embedded model (WordLlama) is weak on paraphrase, full text is blind to synonyms; each
catches what the other misses. Their two rankings are fused by reciprocal rank (RRF), which
needs no calibration between cosine distances and ts_rank scores.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from pgvector.django import CosineDistance

from agents import llm
from agents.knowledge.wording import in_article_words
from agents.languages import DEFAULT as DEFAULT_LANGUAGE
from agents.languages import TEXT_SEARCH, language_of
from agents.models import KnowledgeChunk, KnowledgeDocument

RRF_K = 60
# Hits taken from each ranking before fusion.
CANDIDATES = 40
# Candidates the HNSW index visits per query (pgvector's default is 40). bench/kb_search.py, at
# 100k chunks on 2 cores: recall@10 0.90 at 40, 0.93 at 80, 0.97 at 200 with a p95 of 5.5 ms.
# It must also stay >= CANDIDATES, or the index returns fewer.
HNSW_EF_SEARCH = 200


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    document_id: int
    document_title: str
    heading: str
    text: str
    score: float  # the fused RRF score: only an order, comparable within one search
    similarity: float = 0.0  # cosine similarity to the query: tells a weak match from a good one


def search(query: str, *, inbox_id: int | None = None, limit: int = 5, language: str | None = None) -> list[Passage]:
    """The `limit` best passages of ready documents for `query`, best first.

    With an inbox, only its documents and those for every inbox (no inbox) are searched;
    with none, all documents. Only documents in the query's language (found from its words
    unless given) and in English are searched: a German question is answered from the German
    article, or else the English one, never from the French translation.
    """
    if not query.strip():
        return []
    language = language or language_of(query)
    # Searched in the articles' words: "my kettle quit working" finds the faulty items' passage.
    query = in_article_words(query, language)
    chunks = searchable_chunks(inbox_id).filter(document__language__in={language, DEFAULT_LANGUAGE})
    vector = llm.embed_texts([query])[0]
    scores = reciprocal_rank_fusion([nearest_chunk_ids(chunks, vector), matching_chunk_ids(chunks, query, language)])
    best = sorted(scores, key=scores.__getitem__, reverse=True)[:limit]
    return _passages(_with_opening(chunks, best, limit), scores, vector)


def _with_opening(chunks: QuerySet, best: list[int], limit: int) -> list[int]:
    """The best chunks, with the opening chunk of the best one's document in the last place when
    it is not among them: a general question ("What is your return policy?") is answered by the
    article's opening, which a search for its words may rank below the article's sections."""
    if len(best) < 2:
        return best
    openings = chunks.filter(document__chunks__pk=best[0], position=0).exclude(pk__in=best)
    opening = openings.values_list("pk", flat=True).first()
    return best if opening is None else [*best[: limit - 1], opening]


def searchable_chunks(inbox_id: int | None = None) -> QuerySet:
    chunks = KnowledgeChunk.objects.filter(document__status=KnowledgeDocument.Status.READY)
    if inbox_id is not None:
        chunks = chunks.filter(Q(document__inbox_id=inbox_id) | Q(document__inbox__isnull=True))
    return chunks


def nearest_chunk_ids(chunks: QuerySet, vector, limit: int = CANDIDATES, ef_search: int = HNSW_EF_SEARCH) -> list[int]:
    """Chunk ids by cosine distance, through the HNSW index (approximate)."""
    # Vectors of another model live in another space: their distances mean nothing. pgvector 0.6
    # filters after the index scan, so when the inbox's documents are a small share of all chunks
    # fewer than `limit` may come back; full text still finds theirs.
    nearest = chunks.filter(document__embedding_model=llm.EMBEDDING_MODEL).order_by(CosineDistance("embedding", vector))
    with transaction.atomic(), connection.cursor() as cursor:
        # Local to this transaction: a pooled connection must not keep it for its next user.
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
        return list(nearest.values_list("pk", flat=True)[:limit])


def matching_chunk_ids(
    chunks: QuerySet, query: str, language: str = DEFAULT_LANGUAGE, limit: int = CANDIDATES
) -> list[int]:
    """Chunk ids by full-text rank, headings weighing more than body text."""
    # Any of the question's words, not all: a customer's sentence rarely has every word in one
    # passage. websearch_to_tsquery drops the stop words and stems the rest, in the question's
    # language for its documents and in English for the English ones.
    words = [word for word in re.findall(r"\w+", query.lower()) if word != "or"]
    if not words:
        return []
    configs = dict.fromkeys([TEXT_SEARCH.get(language, TEXT_SEARCH[DEFAULT_LANGUAGE]), TEXT_SEARCH[DEFAULT_LANGUAGE]])
    tsqueries = [SearchQuery(" or ".join(words), search_type="websearch", config=config) for config in configs]
    tsquery = tsqueries[0] if len(tsqueries) == 1 else tsqueries[0] | tsqueries[1]
    matching = chunks.filter(search=tsquery).annotate(rank=SearchRank(F("search"), tsquery))
    return list(matching.order_by("-rank", "pk").values_list("pk", flat=True)[:limit])


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return scores


def _passages(chunk_ids: list[int], scores: dict[int, float], vector) -> list[Passage]:
    rows = KnowledgeChunk.objects.filter(pk__in=chunk_ids).select_related("document")
    by_id = {row.pk: row for row in rows.annotate(distance=CosineDistance("embedding", vector))}
    return [
        Passage(
            chunk_id=row.pk,
            document_id=row.document_id,
            document_title=row.document.title,
            heading=row.heading,
            text=row.text,
            score=scores.get(row.pk, 0.0),
            similarity=_similarity(row),
        )
        for row in (by_id.get(chunk_id) for chunk_id in chunk_ids)
        if row is not None
    ]


def _similarity(row: KnowledgeChunk) -> float:
    same_space = row.distance is not None and row.document.embedding_model == llm.EMBEDDING_MODEL
    return 1.0 - row.distance if same_space else 0.0
