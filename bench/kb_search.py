"""Knowledge base search at 100k chunks: the whole hybrid search(), its stages, and recall@10.

The chunks are embedded with the real model (WordLlama, through `agents.llm.embed_texts`) from
synthetic text: each of 1,000 documents has its own topic words, and each of its 100 chunks mixes
sentences of one demo knowledge base article, words of its document's topic and a few words of
the whole vocabulary. So the vectors have the structure of a real knowledge base (clusters by
document and by subject, inside the model's own cone of directions). Random unit vectors would
not: in 256 dimensions they are all nearly equidistant, the hardest and least realistic case for
an HNSW graph, and their "nearest neighbours" mean nothing. The demo knowledge base (forty
articles) is searched first on its own, then among the 100k chunks.

Chunks are loaded with a binary COPY into the real `agents_knowledgechunk` table, then the
migration's own indexes are built. It prints, for a few `hnsw.ef_search` values, recall@10 and
p50/p95 of the vector query exactly as `search()` runs it (transaction, SET LOCAL, the join that
keeps only ready documents); the whole hybrid `search()` of customer questions on the demo
knowledge base alone and at 100k chunks, with the time of each stage and the plan of the
full-text query; the whole search's recall@10 against an exhaustive one (exact vector scan, every
full-text match ranked); and whether the target is met: whole search() p95 <= 15 ms with
recall@10 >= 0.95.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set. The bench
documents are deleted at the end.
"""

import contextlib
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra_floor  # noqa: E402, F401  (sets up Django on the benchmark's services)
import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.postgres.search import SearchVector  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from pgvector.psycopg import register_vector  # noqa: E402

from agents import llm  # noqa: E402
from agents.knowledge import search as kb  # noqa: E402
from agents.knowledge.services import DEMO_DOCUMENTS, knowledge_demo_ensure  # noqa: E402
from agents.llm.local import wordllama_model  # noqa: E402
from agents.models import KnowledgeChunk, KnowledgeDocument  # noqa: E402
from hilconsole import embedded  # noqa: E402

CHUNKS = int(os.environ.get("BENCH_KB_CHUNKS", "100000"))
CHUNKS_PER_DOCUMENT = 100
QUERIES = int(os.environ.get("BENCH_KB_QUERIES", "200"))
EF_SEARCH_VALUES = (40, 80, 120, 160, 200, 300)
TARGET_RECALL, TARGET_P95_MS = 0.95, 15.0
# Each customer question is searched this many times for the whole search's latency.
ROUNDS = int(os.environ.get("BENCH_KB_ROUNDS", "20"))
# The whole search() is timed with what customers ask, short questions, not with the synthetic queries.
QUESTIONS = [
    "how long until my money comes back", "When will I get my refund?", "I forgot my login",
    "do you deliver to Switzerland", "Can I pay with PayPal?", "my blender broke after a year",
    "does my voucher expire", "How much does delivery cost?", "can I return underwear", "I was charged twice",
    "is klarna available", "my account is locked", "can I change my order after placing it",
    "what are your opening hours", "the item arrived broken", "how fast is express delivery",
]  # fmt: skip
# The quality of the whole search is measured on more of them: these and a share of the customer
# messages of the evaluation's dev split (tests/eval/dev.jsonl), in every widget language.
DEV_CASES = Path(__file__).resolve().parent.parent / "tests" / "eval" / "dev.jsonl"
DEV_SHARE = int(os.environ.get("BENCH_KB_DEV_EVERY", "9"))
SOURCE = "bench:kb_search"
TABLE = KnowledgeChunk._meta.db_table
INDEXES = {index.name: index for index in KnowledgeChunk._meta.indexes}
rng = np.random.default_rng(20240601)


# The corpus ------------------------------------------------------------------------------------


def vocabulary() -> np.ndarray:
    """English-looking words of the model's own tokenizer: words it has embeddings for."""
    words = {token[1:] for token in wordllama_model.model().tokenizer.get_vocab() if token.startswith("▁")}
    return np.array(sorted(word for word in words if re.fullmatch(r"[a-z]{4,}", word)))


def demo_articles() -> list[Path]:
    return sorted(DEMO_DOCUMENTS.glob("*.md"))


def demo_sentences() -> list[list[str]]:
    """The sentences of each demo knowledge base article."""
    articles = []
    for path in demo_articles():
        text = re.sub(r"[#*|`-]+", " ", path.read_text())
        articles.append([sentence.strip() for sentence in re.split(r"(?<=[.!?:])\s+", text) if len(sentence) > 20])
    return articles


def synthetic_text(article: list[str], topic: np.ndarray, words: np.ndarray, sentences: int, topical: int) -> str:
    chosen = [article[i] for i in rng.choice(len(article), size=sentences)]
    mixed = [*rng.choice(topic, size=topical), *rng.choice(words, size=topical // 4)]
    return " ".join(chosen) + " " + " ".join(mixed)


def corpus(documents: int) -> tuple[list[str], list[str], list[int], list[int]]:
    """Chunk texts, query texts, the document (0..documents-1) of each chunk, and the demo article
    (an index of demo_articles()) each document's sentences come from."""
    words, articles = vocabulary(), demo_sentences()
    topics = [rng.choice(words, size=40, replace=False) for _ in range(documents)]
    subjects = rng.integers(len(articles), size=documents)
    owners = [document for document in range(documents) for _ in range(CHUNKS_PER_DOCUMENT)][:CHUNKS]
    texts = [synthetic_text(articles[subjects[d]], topics[d], words, 3, 24) for d in owners]
    asked = rng.integers(documents, size=QUERIES)
    queries = [synthetic_text(articles[subjects[d]], topics[d], words, 1, 6) for d in asked]
    return texts, queries, owners, subjects


def embedded_in_batches(texts: list[str], batch: int = 5000) -> np.ndarray:
    return np.vstack([llm.embed_texts(texts[start : start + batch]) for start in range(0, len(texts), batch)])


# Loading ----------------------------------------------------------------------------------------


def timed_step(figures: dict, name: str, step, *args):
    started = time.perf_counter()
    result = step(*args)
    figures[name] = time.perf_counter() - started
    return result


def drop_bench_documents() -> None:
    with connection.cursor() as cursor:
        # Without the indexes a bulk delete (and the insert after it) does not update them row by row.
        cursor.execute("DROP INDEX IF EXISTS " + ", ".join(INDEXES))
    KnowledgeDocument.objects.filter(source=SOURCE).delete()


def create_documents(count: int) -> list[int]:
    documents = KnowledgeDocument.objects.bulk_create(
        KnowledgeDocument(
            title=f"Bench document {number}", source=SOURCE, status=KnowledgeDocument.Status.READY,
            embedding_model=llm.EMBEDDING_MODEL, content_hash="bench", progress=100,
        )
        for number in range(count)
    )  # fmt: skip
    return [document.pk for document in documents]


def copy_chunks(document_ids: list[int], owners: list[int], texts: list[str], vectors: np.ndarray) -> None:
    connection.ensure_connection()
    register_vector(connection.connection)
    columns = "document_id, position, heading, text, embedding"
    with transaction.atomic(), connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {TABLE} ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int4", "text", "text", "vector"])
            for number, (owner, text, vector) in enumerate(zip(owners, texts, vectors, strict=True)):
                position = number % CHUNKS_PER_DOCUMENT
                heading = f"Bench document {owner} › Part {position}"
                copy.write_row((document_ids[owner], position, heading, text, vector))


def index_full_text() -> None:
    KnowledgeChunk.objects.filter(document__source=SOURCE).update(
        search=SearchVector("heading", weight="A", config="english")
        + SearchVector("text", weight="B", config="english")
    )


def vacuum() -> None:
    # The full-text UPDATE left a dead copy of every row: vacuumed now, before the indexes exist,
    # it is quick; left to autovacuum, it would scan the HNSW index while the queries are timed.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {TABLE}")


def build_index(name: str) -> None:
    with connection.cursor() as cursor:
        # The graph must fit in memory or the build slows down many times; one helper per spare core.
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = %s", [max(0, (os.cpu_count() or 1) - 1)])
    with connection.schema_editor() as editor:
        editor.add_index(KnowledgeChunk, INDEXES[name])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute("RESET maintenance_work_mem")


# Measuring --------------------------------------------------------------------------------------


def exact_neighbours(query_vectors: np.ndarray) -> tuple[list[list[int]], list[float]]:
    """The true top 10 of each query: the same query with the index switched off (a full scan)."""
    truth, samples = [], []
    for vector in query_vectors:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            started = time.perf_counter()
            truth.append(kb.nearest_chunk_ids(vector, limit=10))
            samples.append((time.perf_counter() - started) * 1000)
    return truth, samples


def approximate_neighbours(query_vectors: np.ndarray, ef_search: int) -> tuple[list[list[int]], list[float]]:
    found, samples = [], []
    for vector in query_vectors:
        started = time.perf_counter()
        found.append(kb.nearest_chunk_ids(vector, limit=10, ef_search=ef_search))
        samples.append((time.perf_counter() - started) * 1000)
    return found, samples


def recall_at_10(found: list[list[int]], truth: list[list[int]]) -> float:
    return statistics.mean(len(set(hits) & set(true)) / len(true) for hits, true in zip(found, truth, strict=True))


def hybrid_search_latency(questions: list[str]) -> list[float]:
    samples = []
    for question in questions * ROUNDS:
        started = time.perf_counter()
        kb.search(question)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# The stages of search(), each a function it calls through its module.
STAGES = {
    "embed": (llm, "embed_texts"),
    "vector": (kb, "nearest_chunk_ids"),
    "full text": (kb, "matching_chunk_ids"),
    "passages": (kb, "_passages"),
}


@contextlib.contextmanager
def stages_timed(samples: dict[str, list[float]]):
    def timed(name, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                samples.setdefault(name, []).append((time.perf_counter() - started) * 1000)

        return run

    originals = {name: getattr(owner, attribute) for name, (owner, attribute) in STAGES.items()}
    for name, (owner, attribute) in STAGES.items():
        setattr(owner, attribute, timed(name, originals[name]))
    try:
        yield samples
    finally:
        for name, (owner, attribute) in STAGES.items():
            setattr(owner, attribute, originals[name])


def stage_latency(questions: list[str]) -> dict[str, list[float]]:
    with stages_timed({}) as samples:
        samples["whole search()"] = hybrid_search_latency(questions)
    return samples


def quality_questions() -> list[str]:
    messages = [json.loads(line)["message"] for line in DEV_CASES.read_text().splitlines() if line.strip()]
    return list(dict.fromkeys([*QUESTIONS, *messages[::DEV_SHARE]]))


def best_articles(questions: list[str]) -> dict[str, str]:
    """The article (document title) of each question's best passage, for those that find one."""
    best = {question: kb.search(question) for question in questions}
    return {question: passages[0].document_title for question, passages in best.items() if passages}


@contextlib.contextmanager
def exhaustive():
    """search() with the vector index off (an exact scan) and every full-text match ranked."""
    cap = kb.FULL_TEXT_CANDIDATES
    kb.FULL_TEXT_CANDIDATES = 10**9
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            yield
    finally:
        kb.FULL_TEXT_CANDIDATES = cap


def top_passages(questions: list[str], limit: int) -> list[list[kb.Passage]]:
    return [kb.search(question, limit=limit) for question in questions]


def same_article(results: list[list[kb.Passage]], expected: list[str], articles: dict[int, str]) -> float:
    """The share of passages from the expected article, a bench chunk being of the article its
    sentences come from."""
    found = [articles.get(passage.document_id, passage.document_title) for passages in results for passage in passages]
    wanted = [article for article, passages in zip(expected, results, strict=True) for _ in passages]
    return statistics.mean(article == wanted for article, wanted in zip(found, wanted, strict=True))


def quality(questions: list[str], demo_best: dict[str, str], articles: dict[int, str]) -> dict:
    """search() against the exhaustive search: recall@10, and the share of the five best passages
    from the article the demo knowledge base alone answers from."""
    found, top = top_passages(questions, 10), top_passages(questions, 5)
    with exhaustive():
        truth, exhaustive_top = top_passages(questions, 10), top_passages(questions, 5)
    expected = [demo_best[question] for question in questions]
    return {
        "recall": recall_at_10([[p.chunk_id for p in ps] for ps in found], [[p.chunk_id for p in ps] for ps in truth]),
        "article": same_article(top, expected, articles),
        "article exhaustive": same_article(exhaustive_top, expected, articles),
    }


def full_text_plan(question: str) -> str:
    """The last lines of EXPLAIN (ANALYZE, BUFFERS) of the full-text query, as search() sends it."""
    language = kb.language_of(question)
    with CaptureQueriesContext(connection) as queries:
        kb.matching_chunk_ids(
            kb.in_article_words(question, language), language, languages=(language, kb.DEFAULT_LANGUAGE)
        )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + queries.captured_queries[-1]["sql"])
        plan = [line for (line,) in cursor.fetchall()]
    return "; ".join(line.strip() for line in [*plan[:2], *plan[-2:]])


def uses_the_index(vector) -> bool:
    """Whether the vector query, as search() sends it, is planned on the HNSW index."""
    with CaptureQueriesContext(connection) as queries:
        kb.nearest_chunk_ids(vector, limit=10)
    setting, nearest = queries.captured_queries[-1]["sql"].split("; ", 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(setting)
        cursor.execute("EXPLAIN " + nearest)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    return "chunk_embedding_hnsw" in plan


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


# The run ----------------------------------------------------------------------------------------


def demo_only() -> dict:
    """search() on the demo knowledge base alone, with its indexes, before the bench chunks exist."""
    knowledge_demo_ensure()
    drop_bench_documents()
    for name in INDEXES:
        build_index(name)
    hybrid_search_latency(QUESTIONS)  # warm the model and the connection
    chunks = KnowledgeChunk.objects.filter(document__source__startswith="demo:").count()
    return {"chunks": chunks, "hybrid": hybrid_search_latency(QUESTIONS), "best": best_articles(quality_questions())}


def load(figures: dict) -> tuple[list[str], dict[int, str]]:
    """Loads the bench chunks; returns the synthetic queries and the demo article (its title) each
    bench document's sentences come from."""
    documents = -(-CHUNKS // CHUNKS_PER_DOCUMENT)
    texts, queries, owners, subjects = timed_step(figures, "generate text", corpus, documents)
    vectors = timed_step(figures, "embed", embedded_in_batches, texts)
    timed_step(figures, "drop old bench rows", drop_bench_documents)
    document_ids = create_documents(documents)
    timed_step(figures, "COPY", copy_chunks, document_ids, owners, texts, vectors)
    timed_step(figures, "full-text vectors", index_full_text)
    timed_step(figures, "VACUUM", vacuum)
    timed_step(figures, "GIN build", build_index, "chunk_search_gin")
    timed_step(figures, "HNSW build", build_index, "chunk_embedding_hnsw")
    titles = [path.read_text().splitlines()[0].lstrip("# ") for path in demo_articles()]
    return queries, {document_id: titles[subjects[number]] for number, document_id in enumerate(document_ids)}


def measure(queries: list[str], demo: dict, articles: dict[int, str]) -> dict:
    query_vectors = llm.embed_texts(queries)
    approximate_neighbours(query_vectors[:20], max(EF_SEARCH_VALUES))  # warm the index into memory
    truth, exact_samples = exact_neighbours(query_vectors)
    rows = {}
    for ef_search in EF_SEARCH_VALUES:
        found, samples = approximate_neighbours(query_vectors, ef_search)
        rows[ef_search] = (recall_at_10(found, truth), p50(samples), p95(samples))
    load_before = os.getloadavg()[0]
    hybrid = hybrid_search_latency(QUESTIONS)
    load_after = os.getloadavg()[0]
    return {
        "exact": exact_samples, "rows": rows, "hybrid": hybrid, "load": (load_before, load_after),
        "stages": stage_latency(QUESTIONS), "quality": quality(list(demo["best"]), demo["best"], articles),
        "plan": full_text_plan("Can I pay with PayPal?"),
        "indexed": uses_the_index(query_vectors[0]),
    }  # fmt: skip


def report(figures: dict, demo: dict, results: dict) -> None:
    print(f"kb_search: {CHUNKS:,} chunks in {-(-CHUNKS // CHUNKS_PER_DOCUMENT):,} documents, {QUERIES} queries, "
          f"on {os.cpu_count()} cores; vectors: WordLlama embeddings of synthetic text")  # fmt: skip
    print("load (s): " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in figures.items()))
    print(f"vector query plan uses the HNSW index: {'yes' if results['indexed'] else 'NO'}")
    exact = results["exact"]
    print(f"exact scan (index off): p50 {p50(exact):.1f} ms, p95 {p95(exact):.1f} ms")
    print(f"{'ef_search':>9} {'recall@10':>10} {'p50 ms':>8} {'p95 ms':>8}")
    for ef_search, (recall, median, tail) in results["rows"].items():
        mark = "  ← search() uses this" if ef_search == kb.HNSW_EF_SEARCH else ""
        print(f"{ef_search:>9} {recall:>10.3f} {median:>8.2f} {tail:>8.2f}{mark}")
    asked = f"{len(QUESTIONS)} customer questions × {ROUNDS}"
    print(f"whole hybrid search() of {asked}, demo knowledge base alone ({demo['chunks']} chunks): "
          f"p50 {p50(demo['hybrid']):.1f} ms, p95 {p95(demo['hybrid']):.1f} ms")  # fmt: skip
    hybrid, (load_before, load_after) = results["hybrid"], results["load"]
    print(f"whole hybrid search() of {asked}, at {CHUNKS:,} chunks: p50 {p50(hybrid):.1f} ms, "
          f"p95 {p95(hybrid):.1f} ms (load average {load_before:.1f} before, {load_after:.1f} after)")  # fmt: skip
    stages = results["stages"]
    print("  by stage, p50 / p95 ms: " + ", ".join(
        f"{name} {p50(samples):.1f} / {p95(samples):.1f}" for name, samples in stages.items()))  # fmt: skip
    print(f'  full-text query ("Can I pay with PayPal?"): {results["plan"]}')
    found = results["quality"]
    print(f"  quality, {len(demo['best'])} customer questions (those above and every {DEV_SHARE}th message of "
          f"{DEV_CASES.name}):")  # fmt: skip
    print(f"  recall@10 against an exhaustive search (exact vector scan, every full-text match ranked): "
          f"{found['recall']:.3f}")  # fmt: skip
    print(f"  share of the 5 best passages from the article the demo knowledge base alone answers from: "
          f"{found['article']:.0%} (exhaustive search: {found['article exhaustive']:.0%})")  # fmt: skip
    verdict(results)


def verdict(results: dict) -> None:
    recall, tail = results["rows"][kb.HNSW_EF_SEARCH][0], p95(results["hybrid"])
    target = f"whole search() p95 ≤ {TARGET_P95_MS:g} ms, recall@10 ≥ {TARGET_RECALL} (vector index)"
    state = "MET" if recall >= TARGET_RECALL and tail <= TARGET_P95_MS else "NOT MET"
    print(f"target {target}: {state} (p95 {tail:.1f} ms, recall@10 {recall:.3f} at ef_search={kb.HNSW_EF_SEARCH})")


def main() -> None:
    services = settings.EMBEDDED_SERVICES
    started_here = services is not None and not os.environ.get("BENCH_KEEP_SERVICES")
    call_command("migrate", verbosity=0)
    figures = {}
    try:
        demo = demo_only()
        queries, articles = load(figures)
        results = measure(queries, demo, articles)
    finally:
        drop_bench_documents()
        for name in INDEXES:
            build_index(name)
        connection.close()
        if started_here:
            embedded.stop(services)
    report(figures, demo, results)


if __name__ == "__main__":
    main()
