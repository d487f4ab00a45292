"""Intent classification by the nearest labelled examples (`IntentExample` rows), told apart
from complaints by tone and made confident by the knowledge base's evidence."""

import functools
import re

import numpy as np

from agents.guardrails.language import folded
from agents.llm.embeddings import embed_texts

UNKNOWN = "unknown"
FAQ, COMPLAINT = "faq", "complaint"
WORD = re.compile(r"[a-z0-9']+")
# How much of the similarity comes from shared words: static embeddings alone blur short texts.
LEXICAL_WEIGHT = 0.35
# A message whose best match is below this similarity is unlike every example.
FAMILIAR_FROM, FAMILIAR_AT = 0.12, 0.45
NEIGHBOURS = 2
# Intents whose questions the help articles may answer: good evidence from them is enough.
ANSWERABLE = {FAQ, "account", "refund", "order_status"}
# Intents a well-supported question is taken from.
OPEN = {UNKNOWN, "smalltalk"}
HUMAN_REQUEST = "human_request"
PERSON_SURE_FROM = 0.55
# Knowledge-base support (the best passage unit's score) from which a question counts as
# answerable whatever the examples say, and the confidence it then gets at that support.
SUPPORTED_FROM, SUPPORTED_CONFIDENCE = 0.4, 0.6
# A calm question for help: "how do I …?", "what can I do?", "can I …?": a sentence ending in a
# question mark with one of these words.
QUESTION_WORD = re.compile(r"\b(?:how|what|can|could|where|wie|was|kann|ou|comment|que|puis|como|donde|puedo)\b", re.I)
SENTENCE_END = re.compile(r"([.!?])")
# Tone: this many signals make a complaint, whatever the words are about.
COMPLAINT_FROM = 2

_vectors: dict[str, np.ndarray] = {}


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(folded(text)))


def vectors_of(texts: list[str]) -> np.ndarray:
    """Embeddings of texts the model sees again and again (examples, passages), kept in memory."""
    return _matrix(tuple(texts))


@functools.lru_cache(maxsize=512)
def _matrix(texts: tuple[str, ...]) -> np.ndarray:
    missing = [text for text in set(texts) if text not in _vectors]
    if missing:
        for text, vector in zip(missing, embed_texts(missing), strict=True):
            _vectors[text] = vector
    return np.stack([_vectors[text] for text in texts])


def similarities(text: str, examples: list[str]) -> np.ndarray:
    semantic = vectors_of(examples) @ embed_texts([text])[0]
    words = _words(text)
    lexical = np.array([len(words & _words(e)) / (len(words | _words(e)) or 1) for e in examples])
    return (1 - LEXICAL_WEIGHT) * semantic + LEXICAL_WEIGHT * lexical


def classify(text: str, examples: list[tuple[str, str]], support: float = 0.0) -> tuple[str, float]:
    """(intent, confidence in 0..1) for `text`, given (intent, example text) pairs and how well
    the knowledge base supports an answer (`support`, 0 when unknown).

    The confidence is the share of the best intent among all intents' scores, scaled down
    when even the closest example is unlike the message, so gibberish gets a low confidence.
    An angry tone makes a complaint; a calm question the articles answer well is answerable
    even when it resembles no example.
    """
    intent, confidence = _nearest(text, examples)
    signals = tone(text)
    if signals >= COMPLAINT_FROM:
        return COMPLAINT, max(confidence, 0.8)
    # A question about reaching people ("Can I call you?") only resembles asking for one: the
    # articles answer it. A real request for a person resembles its examples closely.
    unsure_person = intent == HUMAN_REQUEST and confidence < PERSON_SURE_FROM
    if support >= SUPPORTED_FROM and (intent in OPEN or unsure_person or (intent == COMPLAINT and not signals)):
        intent = FAQ
    elif intent == COMPLAINT and not signals and support and asks_calmly(text):
        # "I received the wrong size, how do I exchange it?" asks for help the articles give.
        intent, confidence = FAQ, max(confidence, SUPPORTED_CONFIDENCE)
    if intent in ANSWERABLE and support >= SUPPORTED_FROM:
        confidence = max(confidence, min(0.95, SUPPORTED_CONFIDENCE + (support - SUPPORTED_FROM)))
    return intent, round(confidence, 3)


def asks_calmly(text: str) -> bool:
    """Whether a sentence of the text asks a question for help. Split, not searched for, so it
    takes linear time on any message."""
    parts = SENTENCE_END.split(text)
    return any(end == "?" and QUESTION_WORD.search(piece) for piece, end in zip(parts[::2], parts[1::2], strict=False))


def _nearest(text: str, examples: list[tuple[str, str]]) -> tuple[str, float]:
    if not examples or not text.strip():
        return UNKNOWN, 0.0
    labels = np.array([intent for intent, _ in examples])
    scores = similarities(text, [example for _, example in examples])
    intents = sorted(set(labels))
    per_intent = np.array([np.sort(scores[labels == intent])[-NEIGHBOURS:].mean() for intent in intents])
    shares = np.exp(per_intent / 0.05)
    shares /= shares.sum()
    best = int(per_intent.argmax())
    familiarity = float(np.clip((scores.max() - FAMILIAR_FROM) / (FAMILIAR_AT - FAMILIAR_FROM), 0, 1))
    return intents[best], float(shares[best]) * familiarity


# Tone --------------------------------------------------------------------------------------

# Words of anger, contempt and exasperation, and of contacting again and again, in the four
# widget languages (accent-free, lower case; a prefix matches its inflections).
ANGRY = re.compile(
    r"\b(?:unacceptabl|ridiculous|disgrac|outrag|useless|joke|scam|worst|terribl|horribl|awful|pathetic|furious|"
    r"angry|fed up|sick of|incompeten|shame|unbelievabl|rip.?off|rude|"
    r"frechheit|unverschamt|verargert|wutend|sauer|katastroph|unmoglich|skandal|betrug|"
    r"inadmissibl|scandal|honte|furieux|furieuse|inacceptabl|nul|lamentabl|arnaque|"
    r"verguenza|inaceptabl|harto|harta|enfadad|indignant|estafa|fatal)\w*",
)
AGAIN = re.compile(
    r"\b(?:again|(?:second|third|fourth|fifth) time|(?:two|three|four|five|several|many) times|still nobody|"
    r"still (?:not|no|nothing)|encore|"
    r"nobody (?:answers|replies|helps)|no one (?:answers|replies)|schon wieder|zum (?:zweiten|dritten) mal|"
    r"niemand|encore une fois|de nouveau|personne ne|otra vez|de nuevo|nadie)\b"
)
DEMAND = re.compile(
    r"\b(?:immediately|right now|at once|fix (?:this|it)|(?:want|need) (?:this|it) (?:fixed|sorted|solved)|"
    r"sort (?:this|it) out|sofort|umgehend|where(?: is|'s) my money|wo ist mein geld|ou est mon argent|"
    r"donde esta mi dinero|"
    r"immediatement|tout de suite|inmediatamente|ahora mismo)\b"
)
# Letters in capitals shout, unless they are a name for something (DHL, SEPA, VAT, …).
# Writing for the third time or more is a complaint however calmly it is put.
REPEATED = re.compile(
    r"\b(?:(?:third|fourth|fifth|sixth|umpteenth|3rd|4th|5th) time|(?:three|four|five|six|several|many) times|"
    r"zum (?:dritten|vierten|funften) mal|(?:troisieme|quatrieme|cinquieme) fois|(?:tercera|cuarta|quinta) vez)\b"
)
# Being charged twice is a question when asked ("am I charged twice?", "I was charged twice, is
# that normal?"), one signal when told.
CHARGED_TWICE = re.compile(
    r"\b(?:(?:was|been|got|were|have been) charged (?:twice|two times|double)|double(?:-| )charged|"
    r"charged me twice|(?:zweimal|doppelt) (?:abgebucht|belastet|berechnet)|(?:debite|preleve|facture) deux fois|"
    r"(?:cobrado|cobraron) dos veces)\b"
)
SHOUTING = re.compile(r"\b[A-ZÄÖÜ]{3,}\b")
ACRONYMS = {"DHL", "DPD", "SEPA", "VAT", "EUR", "USA", "IBAN", "PDF", "FAQ", "GMBH", "CET", "PIN", "SMS", "API"}


def tone(text: str) -> int:
    """How many signals of an upset customer the message carries (0 for a calm one)."""
    plain = folded(text)
    shouted = [word for word in SHOUTING.findall(text) if word not in ACRONYMS]
    # Two different angry words say more than one; the same one twice says no more.
    return (
        sum(min(2, len(set(pattern.findall(plain)))) for pattern in (ANGRY, AGAIN, DEMAND))
        + (bool(shouted) and not text.isupper())
        + (text.count("!") >= 2 or "?!" in text or "!?" in text)
        + bool(REPEATED.search(plain))
        + (bool(CHARGED_TWICE.search(plain)) and not asks_calmly(text))
    )
