"""The kind of fact a question asks for, and whether a passage unit holds one: the answer-type
check of classic question answering. "How much …?" wants a price, "how long …?" a duration,
"what time …?" a time of day, "what is your phone number?" a phone number; a unit that holds
no fact of that kind is unlikely to answer, however many of the question's words it shares.

Read from the question's words in the four widget languages (stems, accent-free).
"""

import re

from agents.guardrails.language import folded
from agents.languages import DEFAULT
from agents.llm.local import words

PRICE, DURATION, WHEN, CLOCK, PHONE, EMAIL, COUNT = "price", "duration", "when", "clock", "phone", "email", "count"

# An email address. Its local part starts where a run of its characters starts and is at most 64
# long (as in RFC 5321), so a long run without an "@" is read once, not once per position.
EMAIL_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{1,250}")

# What a unit holding each kind of fact looks like.
HOLDS = {
    PRICE: re.compile(r"€\s?\d|(?<![\d.,])\d[\d.,]{0,15}\s?€|\b(?:eur|euros?)\b", re.I),
    DURATION: re.compile(
        r"(?:(?<!\d)\d{1,4}(?:[–-]\d{1,4})?|\b(?:one|two|three|four|five|ten|zwei|drei|vier|deux|trois|quatre|dos|tres|"
        r"cuatro))[\s-]{0,3}(?:[^\W\d]\w{0,30}\s)?(?:days?|weeks?|hours?|minutes?|months?|years?|tage?n?|werktagen?|wochen?|"
        r"stunden?|minuten|jahren?|jours?|semaines?|heures?|ans?|días?|semanas?|horas?|años?)\b"
        r"|next business day|nächsten werktag|jour ouvré suivant|siguiente día hábil"
        r"|\b(?:one|eine|une|una) (?:hour|stunde|heure|hora)\b",
        re.I,
    ),
    # Opening hours say when it is closed, too.
    CLOCK: re.compile(
        r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s?(?:am|pm|uhr|h)\b|\b(?:closed|geschlossen|ferm[ée]e?s?|cerrados?)\b", re.I
    ),
    PHONE: re.compile(r"\+\d[\d ()/-]{6,24}\d"),
    EMAIL: EMAIL_ADDRESS,
    COUNT: re.compile(
        r"\b\d+\b|\b(?:one|two|three|four|five|six|ten|zwei|drei|vier|fünf|deux|trois|quatre|cinq|"
        r"dos|tres|cuatro|cinco)\b",
        re.I,
    ),  # fmt: skip
}
HOLDS[WHEN] = HOLDS[DURATION]

# The question's side, by stems.
ASKS_PRICE = {"cost", "price", "much", "expens", "cheap", "kostet", "kost", "preis", "teuer", "cout", "prix",
              "cuest", "precio"}  # fmt: skip
# "When is delivery free?" asks the amount from which it is; "Are returns free?" does not.
ASKS_FREE = {"free", "kostenlos", "gratuit", "offert", "gratis"}
ASKS_DURATION = {"long", "day", "time", "take", "fast", "quick", "soon", "lang", "dauert", "dauer", "braucht", "tag",
                 "schnell", "temp", "delai", "jour", "tard", "plazo", "dia", "rapid", "dur", "dure", "duracion",
                 "valid", "gultig"}  # fmt: skip
# "What is the shipping fee?" asks a price; "Is the shipping fee refunded?" does not.
PRICE_NOUNS = {"fee", "charg", "gebuhr", "frai", "gast", "tarif"}
# "When …?" often wants a duration ("When do I get my money back?"), not always ("When is my card
# charged?"): a duration is preferred, nothing else is held against.
ASKS_WHEN = {"when", "wann", "quand", "cuando"}
# Words that only ask for the kind ("how long", "cost") are matched by the kind, not as words;
# "valid" also says what the duration is of, and stays a word.
ASKING_WORDS = (ASKS_PRICE | ASKS_DURATION) - {"valid", "gultig"}
# "email address", "phone number", "what time … open": the words that name the fact asked for.
NAMING_WORDS = {
    EMAIL: {"address", "adress", "adresse", "direccion", "mail"},
    PHONE: {"number", "numb", "nummer", "numero", "numer", "num"},
    CLOCK: {"time", "open", "hour", "uhr", "geoffn", "geoffnet", "offen", "heur", "ouvert", "hora", "abiert", "abr"},
}

WH_QUESTION = re.compile(
    r"^\W*(?:what|which|how|was|welche|wie|quel|quels|quelle|combien|cual|que|qué|cuanto|cuánto|ab wann)\b", re.I
)
# The question's side, by phrases (folded text).
ASKS_BY_PHRASE = [
    # "Until when …?" asks how long something is possible.
    (DURATION, re.compile(
        r"combien de temps|cuanto tarda|how long|wie lange|until when|bis wann|jusqu'a quand|hasta cuando"
    )),
    (CLOCK, re.compile(
        r"\b(?:what|which) time\b|\b(?:opening|business|service|office|your) (?:hours|times)\b|"
        r"\b(?:are|is|do) (?:you|they|the \w+) open\b|\bopen (?:on|at|today|tomorrow|until|now)\b|"
        r"\bum wie ?viel uhr\b|\boffnungszeit|\bgeoffnet\b|\boffen\b|\ba quelle heure\b|\bhoraires?\b|\bouvert|"
        r"\ba que hora\b|\bhorarios?\b|\babiert|\babren\b|"
        # "When can I reach someone by phone?" asks for the hours, not the number.
        r"^\W*(?:when|wann|quand|cuando)\b\W+(?:\w+\W+){0,4}?(?:reach|call|phone|contact\w*|erreich\w*|anruf\w*|"
        r"joindre|appeler|llamar)\b"
    )),
    # The shop's phone number, not "Why does DHL need my phone number?".
    (PHONE, re.compile(
        r"\b(?:your|ihre|votre|vos|su|sus|support|kundenservice)\b\W+(?:\w+\W+){0,2}?"
        r"(?:phone|telephone|telefon\w*|hotline|numero)|\b(?:call|ring|phone) you\b|\banrufen\b|\bappeler\b|"
        r"\bllamar\b|\bhotline\b|^\W*(?:what|which|wie|welche|quel|quelle|cual)\b\W+(?:\w+\W+){0,3}?"
        r"(?:phone|telephone|telefon\w*)\b|^\W*(?:phone|telephone) number\b|^\W*telefonnummer\b|"
        r"\b(?:call|ring|phone|telephone)\b\W+(?:\w+\W+){0,2}?(?:support|team|service)\b|"
        r"\bis there a (?:phone|hotline)|"
        r"\b(?:par|por|per) tel\w*|\b(?:contact\w*|joindre|erreich\w*|reach)\b\W+(?:\w+\W+){0,3}?(?:phone|tel\w*)\b"
    )),
    (EMAIL, re.compile(
        r"\b(?:your|ihre|votre|vos|su|sus|support|kundenservice)\b\W+(?:\w+\W+){0,2}?(?:e-?mail|courriel|correo)\b|"
        r"\b(?:e-?mail|correo|courriel)(?: address| adresse)? (?:of|for|du|de|des) (?:support|service|soporte)|"
        r"\b(?:email|write to|mail) you\b|\b(?:e-?mail|courriel|correo) (?:de )?(?:support|soporte)\b|"
        r"^\W*(?:what|which|welche|quel|quelle|cual)\b\W+(?:\w+\W+){0,3}?(?:e-?mail|courriel|correo)\b"
        r"(?! \w+ (?:to|for) (?:sign|log))"
    )),  # fmt: skip
    (COUNT, re.compile(r"\bhow many\b|\bwie viele?\b|\bcombien de\b|\bcuant[oa]s\b")),
]  # fmt: skip


def asked(text: str, language: str) -> str | None:
    """The kind of fact the text asks for, or None when it asks for none in particular."""
    plain = folded(text)
    for kind, pattern in ASKS_BY_PHRASE:
        if kind == DURATION and pattern.search(plain):
            return DURATION
    said = words.tokens(text)
    found = {words.stem(word, language) for word in said} | {words.stem(word, DEFAULT) for word in said}
    for kind, pattern in ASKS_BY_PHRASE:
        if kind != DURATION and kind != COUNT and pattern.search(plain):
            return kind
    wh = WH_QUESTION.search(text)
    if (
        _any_of(found, ASKS_PRICE)
        or (_any_of(found, PRICE_NOUNS) and wh)
        or (_any_of(found, ASKS_FREE) and (wh or found & ASKS_WHEN))
    ):
        return PRICE
    if _any_of(found, ASKS_DURATION):
        return DURATION
    if ASKS_BY_PHRASE[-1][1].search(plain):
        return COUNT
    if found & ASKS_WHEN:
        return WHEN
    return None


def _any_of(stems: set[str], kinds: set[str]) -> bool:
    """Whether a stem is one of the kinds' words, or an inflection the stemmer kept ("cheapest")."""
    return any(stem in kinds or any(len(kind) >= 4 and stem.startswith(kind) for kind in kinds) for stem in stems)


# The kinds a unit must hold to answer: one without a price does not say what something costs.
EXPECTED = {PRICE, DURATION, PHONE, EMAIL}
# How an item holding each kind of fact is labelled ("Email:", "Phone:", "Saturday:").
DAYS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?|montag|dienstag|mittwoch|"
    r"donnerstag|freitag|samstag|sonntag|wochenende|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"lunes|martes|miercoles|jueves|viernes|sabado|domingo"
)
LABELS = {
    EMAIL: re.compile(r"\b(?:e-?mail|correo|courriel)\b"),
    PHONE: re.compile(r"\b(?:phone|telephone|telefon|telefono)\b"),
    CLOCK: re.compile(rf"\b(?:{DAYS})"),
}


def labelled(kind: str, label: str) -> bool:
    return bool(label) and kind in LABELS and bool(LABELS[kind].search(folded(label)))


def asking_words(kind: str | None) -> set[str]:
    """The stems of a question that only ask for the kind of fact, and are matched by it."""
    return ASKING_WORDS | NAMING_WORDS.get(kind, set())


def holds(kind: str | None, text: str) -> bool:
    return bool(kind) and bool(HOLDS[kind].search(text))
