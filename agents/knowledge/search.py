"""Hybrid search of the knowledge base: the nearest passages by meaning and by words, fused.

The embedded model (WordLlama) is weak on paraphrase, full text is blind to synonyms; each
catches what the other misses. Their two rankings are fused by reciprocal rank (RRF), which
needs no calibration between cosine distances and ts_rank scores.
"""

import itertools
import math
import re
from dataclasses import dataclass

from django.db import connection
from pgvector import Vector

from agents import llm
from agents.knowledge.wording import in_article_words
from agents.languages import DEFAULT as DEFAULT_LANGUAGE
from agents.languages import TEXT_SEARCH, language_of
from agents.models import KnowledgeChunk, KnowledgeDocument
from hilconsole.prepared import prepared_cursor

RRF_K = 60
# Hits taken from each ranking before fusion.
CANDIDATES = 40
# Candidates the HNSW index visits per query (pgvector's default is 40). bench/kb_search.py, at
# 100k chunks on 2 cores: recall@10 0.95 at 40, 0.96 at 80, 0.97-0.98 at 120, 0.98-0.99 at 200,
# which is about a millisecond slower. It must also stay >= CANDIDATES, or the index returns
# fewer, and well above it: pgvector 0.6 drops the chunks of other languages and inboxes after
# the index scan.
HNSW_EF_SEARCH = 120
# Matching chunks ranked by full text at most (see matching_chunk_ids).
FULL_TEXT_CANDIDATES = 500
# The tier of the chunks with k of a question's n words (see matching_chunk_ids) is left out when
# there are more combinations of k words than this.
TIER_COMBINATIONS = 16


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
    scope = {"inbox_id": inbox_id, "languages": (language, DEFAULT_LANGUAGE)}
    vector = Vector(llm.embed_texts([query])[0]).to_text()
    rankings = [nearest_chunk_ids(vector, **scope), matching_chunk_ids(query, language, **scope)]
    scores = reciprocal_rank_fusion(rankings)
    best = sorted(scores, key=scores.__getitem__, reverse=True)[:limit]
    return _passages(best, limit, scores, vector)


# Search's statements are written out rather than built by the ORM: a chat turn runs them, and
# building them took more of its time than PostgreSQL took to run them. Those whose plan cannot
# depend on their values (the lexemes' frequencies, the passages by id) are prepared statements;
# the vector and full-text queries are planned for their values each time.
CHUNKS = "agents_knowledgechunk AS chunk JOIN agents_knowledgedocument AS document ON document.id = chunk.document_id"


def _searchable(inbox_id: int | None, languages) -> tuple[str, list]:
    """The condition that a chunk (`chunk`, of `document`) may be found, and its parameters: its
    document is ready, for the inbox (or every inbox), in one of the languages (any if None)."""
    conditions, params = ["document.status = %s"], [KnowledgeDocument.Status.READY.value]
    if inbox_id is not None:
        conditions.append("(document.inbox_id = %s OR document.inbox_id IS NULL)")
        params.append(inbox_id)
    if languages is not None:
        conditions.append("document.language = ANY(%s)")
        params.append(sorted(set(languages)))
    return " AND ".join(conditions), params


def nearest_chunk_ids(
    vector,
    *,
    inbox_id: int | None = None,
    languages=None,
    limit: int = CANDIDATES,
    ef_search: int = HNSW_EF_SEARCH,
) -> list[int]:
    """Ids of the searchable chunks (see `_searchable`) by cosine distance to `vector` (or its text
    form), through the HNSW index (approximate)."""
    searchable, params = _searchable(inbox_id, languages)
    # Vectors of another model live in another space: their distances mean nothing. pgvector 0.6
    # filters after the index scan, so when the inbox's documents are a small share of all chunks
    # fewer than `limit` may come back; full text still finds theirs.
    nearest = (
        f"SELECT chunk.id FROM {CHUNKS} WHERE {searchable} AND document.embedding_model = %s"
        " ORDER BY chunk.embedding <=> %s::vector LIMIT %s"
    )
    vector = vector if isinstance(vector, str) else Vector(vector).to_text()
    with connection.cursor() as cursor:
        # The setting and the query go in one message, in one round trip. PostgreSQL runs the
        # statements of one message in one transaction (an implicit one outside a transaction), so
        # the setting is local to it: a pooled connection does not keep it for its next user.
        cursor.execute(
            f"SELECT set_config('hnsw.ef_search', %s, true); {nearest}",
            [str(ef_search), *params, llm.EMBEDDING_MODEL, vector, limit],
        )
        cursor.nextset()
        return [chunk_id for (chunk_id,) in cursor.fetchall()]


def matching_chunk_ids(
    query: str,
    language: str = DEFAULT_LANGUAGE,
    *,
    inbox_id: int | None = None,
    languages=None,
    limit: int = CANDIDATES,
) -> list[int]:
    """Ids of the searchable chunks (see `_searchable`) by full-text rank, headings weighing more
    than body text.

    At most `FULL_TEXT_CANDIDATES` matching chunks are ranked, taken in tiers: those with every
    word of the question, then those with all but one, all but two (while that makes few
    combinations of words), then those with each word, the rarest in the knowledge base first.
    """
    # Any of the question's words, not all: a customer's sentence rarely has every word in one
    # passage. websearch_to_tsquery drops the stop words and stems the rest, in the question's
    # language for its documents and in English for the English ones.
    words = [word for word in re.findall(r"\w+", query.lower()) if word != "or"]
    configs = list(
        dict.fromkeys([TEXT_SEARCH.get(language, TEXT_SEARCH[DEFAULT_LANGUAGE]), TEXT_SEARCH[DEFAULT_LANGUAGE]])
    )
    lexemes = _lexemes_rarest_first(" ".join(words), configs) if words else []
    if not lexemes:
        return []
    any_word = " || ".join(["websearch_to_tsquery(%s::regconfig, %s)"] * len(configs))
    searchable, params = _searchable(inbox_id, languages)
    # Ranking reads each matching chunk's row, and at 100k chunks a common word ("pay", "order")
    # matches thousands: more than a search can afford. The tiers are read in order until the
    # cap, so the chunks ranked are those with most of the question's words, and those with its
    # rare words, the ones that tell passages apart, before those with only its common ones.
    in_tier = (
        f"SELECT chunk.id, ts_rank(chunk.search, ({any_word})) FROM {CHUNKS}"
        f" WHERE {searchable} AND chunk.search @@ tier.query LIMIT %s"
    )
    any_word_params = [value for config in configs for value in (config, " or ".join(words))]
    with connection.cursor() as cursor:
        cursor.execute(
            BY_TIERS.format(in_tier),
            [_tiers(lexemes), *any_word_params, *params, FULL_TEXT_CANDIDATES, FULL_TEXT_CANDIDATES, limit],
        )
        return [chunk_id for (chunk_id,) in cursor.fetchall()]


# PostgreSQL takes the tiers in order and stops at the cap: a tier the cap was reached before is
# never read. A chunk of several tiers has the same rank in each.
BY_TIERS = """
    SELECT found.id
    FROM (
        SELECT found.id, found.rank
        FROM unnest(%s::tsquery[]) AS tier(query)
            CROSS JOIN LATERAL ({}) AS found(id, rank)
        LIMIT %s
    ) AS found
    GROUP BY found.id, found.rank
    ORDER BY found.rank DESC, found.id
    LIMIT %s
"""


def _tiers(lexemes: list[tuple[str, str]]) -> list[str]:
    """The tsqueries of the tiers of matching_chunk_ids, for the (configuration, lexeme) pairs of
    the question, rarest first."""
    by_config: dict[str, list[str]] = {}
    for config, lexeme in lexemes:
        by_config.setdefault(config, []).append(lexeme)
    tiers = []
    for missing in range(max(map(len, by_config.values())) - 1):
        with_most = [
            _with_any(words, len(words) - missing)
            for words in by_config.values()
            if len(words) - missing >= 2 and math.comb(len(words), missing) <= TIER_COMBINATIONS
        ]
        if with_most:
            tiers.append(" | ".join(with_most))
    return tiers + [_quoted(lexeme) for lexeme in dict.fromkeys(lexeme for _, lexeme in lexemes)]


def _with_any(words: list[str], count: int) -> str:
    """The tsquery of having `count` of the lexemes `words`, any of them."""
    return " | ".join(f"({' & '.join(map(_quoted, chosen))})" for chosen in itertools.combinations(words, count))


def _quoted(lexeme: str) -> str:
    """A lexeme as a tsquery operand (as PostgreSQL writes one out)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _lexemes_rarest_first(text: str, configs: list[str]) -> list[tuple[str, str]]:
    """The text's lexemes in each of the configurations, as (configuration, lexeme) pairs, the
    rarest in the knowledge base first.

    How many chunks have a lexeme comes from the statistics ANALYZE keeps for the planner (the
    most common lexemes of the column and their share of rows), so it costs no scan; a lexeme
    they do not list is rarer than all of them. Ties keep the text's order.
    """
    with prepared_cursor() as cursor:
        cursor.execute(RAREST_FIRST, {"configs": configs, "text": text, "table": KnowledgeChunk._meta.db_table})
        return [(configs[number - 1], lexeme) for number, lexeme in cursor.fetchall()]


RAREST_FIRST = """
    SELECT configs.number, words.lexeme
    FROM unnest(%(configs)s::regconfig[]) WITH ORDINALITY AS configs(config, number)
        CROSS JOIN unnest(to_tsvector(configs.config, %(text)s)) AS words
        LEFT JOIN (
            SELECT most_common_elems::text::text[] AS lexemes, most_common_elem_freqs AS frequencies
            FROM pg_stats
            WHERE schemaname = current_schema() AND tablename = %(table)s AND attname = 'search'
        ) AS common ON true
    ORDER BY coalesce(common.frequencies[array_position(common.lexemes, words.lexeme)], 0),
        words.positions[1], words.lexeme, configs.number
"""


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return scores


def _passages(best: list[int], limit: int, scores: dict[int, float], vector: str) -> list[Passage]:
    """The best chunks as passages, with the opening chunk of the best one's document in the last
    place when it is not among them: a general question ("What is your return policy?") is
    answered by the article's opening, which a search for its words may rank below the article's
    sections."""
    with prepared_cursor() as cursor:
        # The opening is of the best chunk's document, so searchable like it.
        cursor.execute(
            PASSAGES,
            {"best": best, "vector": vector, "opening_of": best[0] if len(best) > 1 else None},
        )
        by_id = {row[0]: row for row in cursor.fetchall()}
    opening = next((chunk_id for chunk_id in by_id if chunk_id not in best), None)
    chunk_ids = best if opening is None else [*best[: limit - 1], opening]
    return [_passage(by_id[chunk_id], scores) for chunk_id in chunk_ids if chunk_id in by_id]


# What a passage shows (never the embedding nor the full-text vector: most of a row), for the
# best chunks and the opening chunk of the first one's document.
PASSAGES = """
    SELECT chunk.id, chunk.document_id, document.title, chunk.heading, chunk.text, document.embedding_model,
        chunk.embedding <=> %(vector)s::vector
    FROM agents_knowledgechunk AS chunk
        JOIN agents_knowledgedocument AS document ON document.id = chunk.document_id
    WHERE chunk.id = ANY(%(best)s::bigint[])
        OR (chunk.position = 0 AND chunk.document_id = (
            SELECT document_id FROM agents_knowledgechunk WHERE id = %(opening_of)s
        ))
"""


def _passage(row: tuple, scores: dict[int, float]) -> Passage:
    chunk_id, document_id, title, heading, text, embedding_model, distance = row
    # Vectors of another model live in another space: their distance means nothing.
    same_space = distance is not None and embedding_model == llm.EMBEDDING_MODEL
    return Passage(
        chunk_id=chunk_id,
        document_id=document_id,
        document_title=title,
        heading=heading,
        text=text,
        score=scores.get(chunk_id, 0.0),
        similarity=1.0 - distance if same_space else 0.0,
    )
