"""Grounded answers and extractive summaries: text chosen from what the model is given, never made up.

An answer is the passage unit (a sentence, a list item or a table row) that best matches the
question, with its close runners-up from the same article. A unit's score blends its meaning
(WordLlama) with the question's words it covers (stemmed, typos forgiven, rare words weighing
more), the places it is about (the question's country, or the region that country is in), and
whether it holds the kind of fact asked for (a price, a duration).
"""

import functools
import re
from dataclasses import dataclass

import numpy as np

from agents.knowledge.wording import in_article_words
from agents.languages import language_of
from agents.llm import prompts
from agents.llm.embeddings import embed_texts
from agents.llm.local import facts, words
from agents.llm.local.intents import vectors_of
from agents.llm.local.phrases import say

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9¿¡\"„«(])")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?!\s)|`")
REFERS_BACK = re.compile(r"^(?:These|This|Those|That|They|It|Such|Diese|Dies|Ils|Elles|Cela|Ces|Estos|Esto)\b")
# The weight of each signal in a unit's score (tuned on tests/eval/dev.jsonl).
MEANING, COVERAGE, TITLE = 0.4, 0.5, 0.15
SAME_PLACE, SAME_REGION, OTHER_PLACE = 0.2, 0.1, -0.25
ONLY = re.compile(r"\b(?:only|nur|uniquement|seulement|solo|sólo|únicamente)\b", re.I)
# "How do I …?", "Wie erreiche ich …?": a section that lists the ways is its answer.
ASKS_HOW = re.compile(r"^\W*(?:how|wie|comment|c[oó]mo)\b|\bwhat are the (?:ways|options|steps)\b", re.I)
OUTSIDE = re.compile(r"\b(?:outside|except|au(?:ss|ß)erhalb|hors|en dehors|fuera|excepto)\b", re.I)
SAME_KIND, OTHER_KIND = 0.2, -0.15
NAMED_KIND = 0.25
# A list item or table row labelled with something the customer did not ask about ("Express:").
OTHER_LABEL = -0.1
FIRST_IN_SECTION, EARLIER_SOURCE = 0.04, 0.04
# An article's opening section answers the questions its title answers ("What's your return policy?").
LEAD = 0.1
# A unit this close to the best one is said too.
RUNNER_UP_MARGIN = 0.12
# A sentence of the best unit's own passage may be further behind: it is about the same thing.
SAME_PASSAGE_MARGIN = 0.2
MAX_UNITS, MAX_LIST_ITEMS = 3, 7
# A best sentence this short, or one that says what is not possible, is said with the one after it.
NEGATION = re.compile(
    r"\b(?:not|no longer|cannot|never|nicht|nicht mehr|kein\w*|nie|ne|n'|plus|jamais|no|ya no|nunca)\b", re.I
)
SHORT_SENTENCE_WORDS = 8
# A word of the question that at most this many units have is what tells them apart ("underwear",
# "reserved"): a unit that has it is preferred, by a little.
RARE_IN, RARE = 2, 0.05
# A word of the sources this close in meaning to a question's word stands for it, as much.
NEAR_FROM = 0.5
# Below these the best unit does not answer the question: say so instead of guessing.
RELEVANT_FROM, COVERED_FROM = 0.3, 0.34
ANSWERS_FROM, ANSWERS_TOPIC_FROM = 0.35, 0.2
# A follow-up this short ("and to Austria?") borrows the places and the kind of fact from the
# customer's previous message.
FOLLOW_UP_WORDS = 8
# Words of a label that only say where ("other EU countries", "Germany only").
PLACE_LABEL_WORDS = {"other", "countries", "country", "rest", "only", "andere", "anderen", "lander", "land", "nur",
                     "autres", "pays", "uniquement", "otros", "paises", "resto", "solo"}  # fmt: skip


@dataclass
class Unit:
    source: int
    rank: int
    position: int
    kind: str  # sentence, item, row, or intro (the line that opens a list)
    text: str
    language: str
    intro: str = ""
    label: str = ""
    group: int = -1
    block: int = -1
    context: str = ""
    score: float = 0.0
    rank_score: float = 0.0
    coverage: float = 0.0
    # The same, of the question's words that are not places: a place alone answers nothing
    # ("What is the population of Italy?").
    topic: float = 0.0
    # The same, of the question's words alone (not the kind of fact).
    topic_words: float = 0.0
    # Whether it is about the place asked about (the country, or the region it is in).
    place: bool = False
    stems: frozenset[str] = frozenset()
    title_stems: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    # A section's heading opening its list: it says the whole list, never answers on its own, and
    # only when its own words cover the whole question ("How to reach us" for "How can I reach you?").
    heading: bool = False
    covers_all: bool = False


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    stems: frozenset[str]
    places: frozenset[str]
    asks: str | None
    # (stem, the word the customer wrote)
    written: tuple[tuple[str, str], ...] = ()
    # The question in the articles' words ("quit working" → "became faulty"): what is matched.
    wording: str = ""

    @classmethod
    def of(cls, text: str, earlier: list[str] = (), language: str | None = None, alongside: bool = False) -> "Question":
        """`alongside`: the text is one of several questions asked at once, which leans on the one
        before it only when it names nothing of its own ("…, and how much does it cost?")."""
        language = language or language_of(text)
        wording = in_article_words(text, language)
        places, asks = words.countries(text), facts.asked(wording, language)
        written = _written(wording, language, asks)
        previous = earlier[-1] if earlier else ""
        if previous and len(text.split()) <= FOLLOW_UP_WORDS and not (alongside and written):
            places = places or words.countries(previous)
            asks = asks or facts.asked(previous, language_of(previous))
            # "…, and how much does it cost?": what "it" is was said before.
            written = written or _written(previous, language, asks)
        stems = {stem for stem, _ in written} | {f"@{place}" for place in places}
        return cls(text, language, frozenset(stems), frozenset(places), asks, tuple(sorted(written)), wording)


def _written(text: str, language: str, asks: str | None = None) -> set[tuple[str, str]]:
    """(stem, word) of the text's content words. The words that ask for a kind of fact ("how
    long", "cost") are matched by that kind, not as words."""
    said = words.content_words(words.without_places(text))
    pairs = {(words.stem(word, language), word) for word in said}
    kept = {(stem, word) for stem, word in pairs if stem not in facts.asking_words(asks)}
    # "What are your opening hours?" names only the fact: its words are what it is about.
    return kept or {(stem, word) for stem, word in pairs if stem not in facts.ASKING_WORDS}


def units_of(number: int, rank: int, title: str, text: str) -> list[Unit]:
    """The sentences, list items and table rows of one source, each with what it is matched on."""
    language = _language_of_source(title, text)
    units: list[Unit] = []
    for paragraph, block in enumerate(PARAGRAPH_BREAK.split(text)):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("|"):
            for label, row in _table_rows(lines):
                units.append(Unit(number, rank, len(units), "row", row, language, label=label))
        elif LIST_ITEM.match(lines[0]):
            intro = units[-1] if units and units[-1].text.endswith(":") else None
            if not units and "›" in title:
                # A section that is one list ("How to reach us") is opened by its heading.
                intro = Unit(
                    number, rank, 0, "sentence", f"{title.rpartition('›')[2].strip()}:", language, heading=True
                )
                units.append(intro)
            if intro:
                intro.kind, intro.group = "intro", intro.position
            for item in _list_items(lines):
                label = item.split(":", 1)[0] if ":" in item[:60] else ""
                units.append(Unit(number, rank, len(units), "item", item, language, intro.text if intro else "",
                                  label, intro.group if intro else -1))  # fmt: skip
        else:
            for sentence in _sentences(" ".join(lines)):
                units.append(Unit(number, rank, len(units), "sentence", sentence, language, block=paragraph))
    for previous, unit in zip(units, units[1:], strict=False):
        if unit.kind == "sentence" and previous.kind == "sentence" and REFERS_BACK.match(unit.text):
            unit.text = f"{previous.text} {unit.text}"
    for unit in units:
        unit.context = f"{title}: {unit.intro} {unit.text}"
    return [unit for unit in units if unit.kind == "item" or len(unit.text.split()) >= 2]


@functools.lru_cache(maxsize=2048)
def _language_of_source(title: str, text: str) -> str:
    return language_of(f"{title}\n{text[:400]}")


def _plain(text: str) -> str:
    return EMPHASIS.sub("", text).lstrip("# ").strip()


def _sentences(text: str) -> list[str]:
    return [_plain(sentence) for sentence in SENTENCE_END.split(text)]


def _list_items(lines: list[str]) -> list[str]:
    items: list[str] = []
    for line in lines:
        if LIST_ITEM.match(line) or not items:
            items.append(LIST_ITEM.sub("", line))
        else:
            items[-1] += f" {line}"  # a wrapped item
    return [_plain(item) for item in items]


def _table_rows(lines: list[str]) -> list[tuple[str, str]]:
    """(label, row read with its header): ("Germany", "Germany: standard €4.90, free from orders of €50")."""
    rows = [[_plain(cell) for cell in line.strip("|").split("|")] for line in lines if not TABLE_RULE.match(line)]
    if len(rows) < 2:
        return []
    header, body = rows[0], rows[1:]
    return [
        (row[0], f"{row[0][:1].upper()}{row[0][1:]}: "
         + ", ".join(f"{name} {value}" for name, value in zip(header[1:], row[1:], strict=False)))
        for row in body
    ]  # fmt: skip


# Scoring ------------------------------------------------------------------------------------


def scored_units(question: Question, sources: list[tuple[int, str, str]]) -> list[Unit]:
    """Every unit of the sources, scored against the question, best first. Classifying and then
    answering a message score the same passages for the same question: the second time is free."""
    return _scored(question, tuple(sources))


@functools.lru_cache(maxsize=64)
def _scored(question: Question, sources: tuple[tuple[int, str, str], ...]) -> list[Unit]:
    units = [unit for rank, (number, title, text) in enumerate(sources) for unit in units_of(number, rank, title, text)]
    if not units or not question.text.strip():
        return []
    titles = {number: title for number, title, _ in sources}
    for unit in units:
        unit.stems = _stems_of(f"{unit.intro} {unit.text}", unit.language)
        unit.title_stems = _stems_of(titles[unit.source], unit.language)
        unit.words = _words_of(unit.context)
    weights = _weights(question, units)
    topics = {stem: weight for stem, weight in weights.items() if not stem.startswith("@")}
    # Meaning half from the unit's own words, half with its title: the title tells the sources
    # apart, the words the units of one source.
    asked = embed_texts([question.wording or question.text])[0]
    own = vectors_of([f"{unit.intro} {unit.text}" for unit in units]) @ asked
    meaning = (own + vectors_of([unit.context for unit in units]) @ asked) / 2
    for unit, similarity in zip(units, meaning, strict=True):
        unit.coverage = _coverage(weights, unit.stems | unit.title_stems, unit.words)
        unit.covers_all = unit.heading and _coverage(weights, unit.stems, unit.words) >= 1
        unit.topic = _topic(question, topics, unit)
        by_title = _coverage(weights, unit.title_stems, frozenset())
        place = _place_fit(question, unit)
        unit.place = place > 0
        unit.score = (
            MEANING * float(similarity)
            + COVERAGE * unit.coverage
            + TITLE * by_title
            + LEAD * by_title * _is_lead(titles[unit.source])
            + place
            + _kind_fit(question, unit)
            + _label_fit(question, unit)
            + FIRST_IN_SECTION * (unit.position == 0)
            + EARLIER_SOURCE * (1 - unit.rank / len(sources))
        )
        # Only an order among units: how well the best answers (the support) does not depend on it.
        unit.rank_score = unit.score + RARE * _rare_fit(weights, unit)
    return sorted(units, key=lambda unit: unit.rank_score, reverse=True)


@functools.lru_cache(maxsize=8192)
def _stems_of(text: str, language: str) -> frozenset[str]:
    return frozenset(words.stems(words.without_places(text), language) | words.place_tokens(text))


def _is_lead(title: str) -> bool:
    """Whether a source is an article's opening section ("Payment methods — Payment methods"),
    not one of its subsections ("… — Payment methods › A payment was declined")."""
    return "›" not in title.rpartition(" — ")[2]


@functools.lru_cache(maxsize=8192)
def _words_of(text: str) -> frozenset[str]:
    return frozenset(words.content_words(text))


@dataclass(frozen=True)
class Weight:
    """How one of the question's words is matched: the sources' stems it stands for (typos
    forgiven), and how close in meaning each of the sources' words is to it."""

    known: frozenset[str]
    near: dict
    # Whether few units have it (`RARE_IN`).
    rare: bool = False


def _weights(question: Question, units: list[Unit]) -> dict[str, Weight]:
    """Every content word of the question counts the same: the passages were retrieved for these
    words, so a word in all of them is the topic, not noise; one in none is what they do not
    answer. A unit without the word may have one of the same meaning ("shipping" for "delivery"),
    which counts fully when no source has the word, half when one does."""
    vocabulary = frozenset().union(*(unit.stems | unit.title_stems for unit in units))
    written = dict(question.written)
    spoken = sorted(set().union(*(unit.words for unit in units)))
    meanings = vectors_of(spoken) if spoken else None
    weights = {}
    for stem in question.stems:
        known = frozenset({stem}) if stem.startswith("@") else words.known_as(stem, vocabulary)
        near = {}
        if stem in written and meanings is not None:
            closeness = meanings @ vectors_of([written[stem]])[0] * (0.5 if known else 1.0)
            near = {word: float(value) for word, value in zip(spoken, closeness, strict=True) if value >= NEAR_FROM / 2}
        having = sum(any(_covers(k, unit.stems) for k in known) for unit in units) if known else 0
        weights[stem] = Weight(known, near, 0 < having <= RARE_IN and not stem.startswith("@"))
        head = words.compound_head(stem, vocabulary) if not stem.startswith("@") else frozenset()
        if head and known and not known & head:
            # A compound is two words to match: what it is ("Reparatur") and of what ("Garantie").
            weights[f"{stem}>"] = Weight(head, {})
    return weights


def _coverage(weights: dict[str, Weight], stems: frozenset[str], unit_words: frozenset[str]) -> float:
    """The share of the question's words that `stems` (or words near them in meaning) cover."""
    if not weights:
        return 0.0
    covered = 0.0
    for weight in weights.values():
        if any(_covers(known, stems) for known in weight.known):
            covered += 1
        elif weight.near:
            covered += max((weight.near.get(word, 0.0) for word in unit_words), default=0.0)
    return covered / len(weights)


def _rare_fit(weights: dict[str, Weight], unit: Unit) -> float:
    """The share of the question's rare words the unit itself has."""
    rare = [weight for weight in weights.values() if weight.rare]
    if not rare:
        return 0.0
    return sum(any(_covers(k, unit.stems) for k in weight.known) for weight in rare) / len(rare)


def _covers(known: str, stems: frozenset[str]) -> bool:
    if known in stems:
        return True
    # A country is covered by the region it is in ("other EU countries" for Italy).
    return known.startswith("@") and known[1:] in words.COUNTRIES and words.region_token(known[1:]) in stems


def _place_fit(question: Question, unit: Unit) -> float:
    if not question.places:
        return 0.0
    named = _places_in(unit.context)
    if named & question.places:
        return SAME_PLACE
    regions = {words.region_token(place) for place in question.places}
    mentioned = words.place_tokens(unit.context)
    if regions & mentioned:
        return SAME_REGION
    # What is offered in some places only ("Germany and Austria only") answers for the others too,
    # and so does what holds everywhere but there ("not to PO boxes outside Germany").
    if named and (ONLY.search(unit.text) or OUTSIDE.search(unit.text)):
        return SAME_REGION
    # A passage about deliveries outside the EU says nothing of Austria, and one about the EU
    # nothing of Norway.
    elsewhere = mentioned & {"@eu", words.OUTSIDE_EU}
    return OTHER_PLACE if named or elsewhere else 0.0


@functools.lru_cache(maxsize=8192)
def _places_in(context: str) -> frozenset[str]:
    return frozenset(words.countries(context))


def _kind_fit(question: Question, unit: Unit) -> float:
    """A price for "how much", a duration for "how long": a unit without the fact asked for
    answers less well; "when" and the other kinds only prefer the units that hold one. An item
    labelled with the fact's name ("Email: support@…", "Saturday: 10:00–14:00") is its answer."""
    if question.asks is None:
        return 0.0
    held = facts.holds(question.asks, unit.text)
    if question.asks == facts.WHEN:
        return SAME_KIND / 4 if held else 0.0
    if not held:
        return OTHER_KIND if question.asks in facts.EXPECTED else 0.0
    return SAME_KIND + NAMED_KIND * facts.labelled(question.asks, unit.label)


def _label_fit(question: Question, unit: Unit) -> float:
    """A labelled item about something the question does not name ("Express", "Phone") is less
    likely its answer than one whose label it names, or one that only names places."""
    if not unit.label:
        return 0.0
    label_words = [word for word in words.content_words(words.without_places(unit.label))
                   if word not in PLACE_LABEL_WORDS]  # fmt: skip
    asked = [word for word in label_words if words.known_as(words.stem(word, unit.language), question.stems)]
    return OTHER_LABEL if label_words and not asked else 0.0


def _topic(question: Question, topics: dict[str, Weight], unit: Unit) -> float:
    """The share of what the question is about that the unit covers: its words other than
    places, and the kind of fact it asks for (a duration for "how long … to Poland?")."""
    asked = len(topics) + bool(question.asks)
    if not asked:
        return 1.0
    covered = _coverage(topics, unit.stems | unit.title_stems, unit.words) * len(topics)
    unit.topic_words = covered / len(topics) if topics else 0.0
    return (covered + (_kind_fit(question, unit) > 0)) / asked


def _relevant(unit: Unit) -> bool:
    return unit.score >= RELEVANT_FROM and unit.coverage >= COVERED_FROM and unit.topic >= COVERED_FROM


def _answers(unit: Unit) -> bool:
    """Whether a unit may answer a question the classifier already let through: one that covers
    some of what is asked and scores well does, though the customer's other words are not in it
    ("Can I swap my shoes for a different colour?" and "We do not swap items directly")."""
    return _relevant(unit) or (
        unit.score >= ANSWERS_FROM
        and (unit.topic_words >= ANSWERS_TOPIC_FROM or unit.topic >= ANSWERS_TOPIC_FROM and unit.place)
    )


# Answering ----------------------------------------------------------------------------------


def questions_of(text: str, earlier: list[str] = ()) -> list[Question]:
    """The distinct questions of a customer's turn (several folded messages, or "X? And Y?"),
    each read with the ones before it, in the language of the whole turn."""
    parts = prompts.questions_in(text)
    if len(parts) == 1:
        return [Question.of(parts[0], earlier)]
    language = language_of(text)
    return [Question.of(part, [*earlier, *parts[:index]], language, True) for index, part in enumerate(parts)]


def best_support(question: str, sources: list[tuple[int, str, str]], earlier: list[str] = ()) -> float:
    """How well the best unit of the sources answers the question (0 when none does); for a turn
    that asks several things, the best answered of them."""
    return max(_support(asked, sources) for asked in questions_of(question, earlier))


def _support(asked: Question, sources: list[tuple[int, str, str]]) -> float:
    relevant = [unit for unit in scored_units(asked, sources) if _relevant(unit) and not unit.heading]
    return max((unit.score for unit in relevant), default=0.0)


def grounded_answer(
    question: str, sources: list[tuple[int, str, str]], earlier: list[str] = ()
) -> tuple[str, list[int]]:
    """An answer made of the units that best answer the question, citing their source; each of
    its questions answered in turn when it asks several, and those the sources do not answer
    named.

    In the customer's language when a source in it answers; otherwise from an English source,
    with a line saying so. Returns the text and the numbers of the sources cited; none cited
    means "I don't know".
    """
    asked = questions_of(question, earlier)
    language = asked[0].language if len(asked) == 1 else language_of(question)
    replies, cited, unanswered, in_english = [], [], [], False
    for one in asked:
        # Only the turn as a whole was judged answerable: each of several questions must be on its own.
        text, numbers, english = _answer(one, sources, strict=len(asked) > 1)
        if numbers and text not in replies:
            replies.append(text)
            cited.extend(number for number in numbers if number not in cited)
            in_english |= english
        else:
            unanswered.append(one.text)
    if not cited:
        return say("not_found", language), []
    if unanswered and len(asked) > 1:
        replies.append(say("not_answered", language, questions=" ".join(f"“{text}”" for text in unanswered)))
    if in_english:
        replies.insert(0, say("english_only", language))
    return "\n".join(reply for reply in replies if reply), cited


def _answer(asked: Question, sources: list[tuple[int, str, str]], strict: bool = False) -> tuple[str, list[int], bool]:
    """The answer to one question, the sources it cites, and whether it is from an English source
    for a customer who wrote in another language."""
    scored = scored_units(asked, sources)
    units = [unit for unit in scored if (_relevant(unit) if strict else _answers(unit))]
    own = [unit for unit in units if unit.language == asked.language]
    chosen = own or units
    if not chosen:
        return "", [], False
    articles = {number: title.split(" — ")[0] for number, title, _ in sources}
    text, cited = _compose(chosen, scored, articles, bool(ASKS_HOW.search(asked.text)))
    return text, cited, chosen[0].language != asked.language


def _compose(chosen: list[Unit], scored: list[Unit], articles: dict[int, str], how: bool) -> tuple[str, list[int]]:
    """The best unit and its close runners-up, each article's in its order and cited after them
    (by the first of its sources said); a list's opening line with the whole list; an item with
    the line that opens its list. Returns the text and the sources cited, the best unit's first."""
    best = next((unit for unit in chosen if not unit.heading), chosen[0])
    # A list's opening line that answers as much as the best unit means the question is about the list.
    close = [unit for unit in chosen if unit.source == best.source and unit.score >= best.score - RUNNER_UP_MARGIN]
    intro = next(
        (u for u in close if u.kind == "intro" and (not u.heading or how and u.covers_all and u.group == best.group)),
        None,
    )
    if intro and intro.coverage >= best.coverage:
        items = sorted((u for u in scored if u.source == best.source and u.group == intro.group and u.kind == "item"),
                       key=lambda unit: unit.position)[:MAX_LIST_ITEMS]  # fmt: skip
        return f"{intro.text} {'; '.join(unit.text.rstrip('.;') for unit in items)}. [{best.source}]", [best.source]
    follow = _continuation(best, scored)
    # A sentence that refers back already says the one before it ("… is not. These cannot …").
    said = follow if follow and best.text in follow[0].text else [best, *follow]
    for unit in chosen[1:]:
        if len(said) >= MAX_UNITS:
            break
        # Not a list's other items, nor a table's other rows: those are the alternatives not asked about.
        prose = unit.kind == "sentence" and unit.source == best.source
        margin = SAME_PASSAGE_MARGIN if prose else RUNNER_UP_MARGIN
        if unit.score >= best.score - margin and unit.kind != "intro" and not _repeats(unit, said):
            said.append(unit)
    # Passages of one article are cited once, by the first of them that was said.
    cite = {}
    for unit in said:
        cite.setdefault(articles.get(unit.source, unit.source), unit.source)
    sources = list(dict.fromkeys(cite[articles.get(unit.source, unit.source)] for unit in said))
    parts = []
    for source in sources:
        introduced = set()
        article = articles.get(source, source)
        in_article = (unit for unit in said if articles.get(unit.source, unit.source) == article)
        for unit in sorted(in_article, key=lambda unit: (unit.rank, unit.position)):
            if unit.intro and unit.group not in introduced:
                parts.append(unit.intro)
                introduced.add(unit.group)
            parts.append(unit.text if unit.text[-1:] in ".!?:;" else f"{unit.text}.")
        parts[-1] += f" [{source}]"
    return " ".join(parts), sources


def _continuation(best: Unit, scored: list[Unit]) -> list[Unit]:
    """The sentence after a short or a negative best one in its paragraph: "We do not swap items
    directly." is only half the answer; what to do instead follows."""
    if best.kind != "sentence" or (len(best.text.split()) > SHORT_SENTENCE_WORDS and not NEGATION.search(best.text)):
        return []
    return [unit for unit in scored if unit.source == best.source and unit.kind == "sentence"
            and unit.block == best.block and unit.position == best.position + 1][:1]  # fmt: skip


def _repeats(unit: Unit, said: list[Unit]) -> bool:
    return any(unit.text in other.text or other.text in unit.text for other in said)


def extractive_summary(transcript: str, limit: int = 3) -> str:
    """The `limit` most central lines of a transcript, in their original order."""
    lines = [line.strip() for line in transcript.splitlines() if len(line.split()) >= 3]
    if len(lines) <= limit:
        return " ".join(lines)
    vectors = embed_texts(lines)
    centrality = vectors @ vectors.mean(axis=0)
    # The customer's first request always leads: it is what the human must solve.
    keep = sorted({0, *np.argsort(centrality)[::-1][: limit - 1].tolist()})
    return " ".join(lines[index] for index in keep[:limit])


# Small talk: a greeting or a thank-you needs a kind word, not a help article.
SMALLTALK = [
    (re.compile(r"\b(?:bye|goodbye|see you|tsch(?:ue|ü)ss|ciao|au revoir|adi(?:o|ó)s)\b", re.I),
     "You're welcome! Have a lovely day, and write again any time."),
    (re.compile(r"\b(?:thanks?|thank you|thx|ty|danke|merci|gracias|grazie|cheers|great|perfect|cool)\b", re.I),
     "You're welcome! Is there anything else I can help you with?"),
    (re.compile(r"\bhow are you\b|\bwie geht'?s\b|\bcomment (?:ça|ca) va\b|\bqu(?:é|e) tal\b", re.I),
     "I'm doing well, thank you! How can I help you today?"),
    (re.compile(r"^(?:hi|hello|hey|hallo|hola|bonjour|salut|servus|moin|good (?:morning|afternoon|evening)"
                r"|guten (?:morgen|tag|abend)|buenos d(?:i|í)as)\b", re.I),
     "Hello! How can I help you today?"),
]  # fmt: skip
SMALLTALK_WORDS = 6
# "Translate 'thank you' …" asks for a task, not a kind word.
ASKS_A_TASK = re.compile(r"\b(?:translate|[üu]bersetze?n?|tradu\w*|write|spell)\b", re.I)


def smalltalk_reply(text: str) -> str | None:
    """A reply to a short greeting, thank-you or goodbye; None for anything with a request in it."""
    if len(text.split()) > SMALLTALK_WORDS or re.search(r"\d", text) or ASKS_A_TASK.search(text):
        return None
    for pattern, reply in SMALLTALK:
        # "Thanks! Where is it?" asks something; only "how are you?" is a question of small talk.
        if pattern.search(text.strip()) and ("?" not in text or reply.startswith("I'm doing well")):
            return reply
    return None
