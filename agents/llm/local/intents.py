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
# "Can I talk to you about a return?" asks the chat itself, not for a person.
TO_YOU = re.compile(r"\b(?:talk|speak|chat)\w* (?:to|with) you\b")
# Knowledge-base support (the best passage unit's score) from which a question counts as
# answerable whatever the examples say, and the confidence it then gets at that support.
SUPPORTED_FROM, SUPPORTED_CONFIDENCE = 0.4, 0.6
# A calm question for help: "how do I …?", "what can I do?", "can I …?": a sentence ending in a
# question mark with one of these words.
QUESTION_WORD = re.compile(
    r"\b(?:how|what|can|could|where|when|which|am|is|are|do|does|will|would|wie|was|wann|welche\w*|kann|ist|sind|ou|"
    r"quand|quel\w*|comment|que|puis|est-ce|como|donde|cuando|cual|puedo|es|normal)\b",
    re.I,
)
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
    unsure_person = intent == HUMAN_REQUEST and (confidence < PERSON_SURE_FROM or TO_YOU.search(text.lower()))
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

# Words of anger, contempt and exasperation in the four widget languages (accent-free, lower
# case; a prefix matches its inflections).
ANGRY = re.compile(
    r"\b(?:unacceptabl|ridiculous|disgrac|disgust|outrag|useless|hopeless|joke|scam|worst|terribl|horribl|awful|"
    r"pathetic|furious|angry|fed up|sick of|incompeten|unprofessional|shame|unbelievabl|rip.?off|rude|appall|"
    r"kidding me|are you serious|you must be joking|seriously|damn|dammit|bloody|wtf|ffs|verdammt|"
    r"disappoint|infuriat|livid|unhappy|dissatisfied|frustrat|upset|"
    r"frechheit|unverschamt|verargert|wutend|sauer|stinksauer|katastroph|unmoglich|skandal|betrug|enttausch|"
    r"unzufrieden|lacherlich|insatisfait|mecontent|insatisfech|"
    r"unzumutbar|"
    r"inadmissibl|scandal|honte|furieux|furieuse|inacceptabl|nul(?:s|le|les)?\b(?! part)|lamentabl|arnaque|decu|decue|"
    r"decevant|en colere|"
    r"verguenza|vergonzos|inaceptabl|harto|harta|enfadad|indignad|indignant|estafa|fatal|decepcion)\w*",
)
# The angriest of them: said (not asked, as in "Is this a scam?"), one is upset enough for a
# complaint ("Worst customer service ever", "You people are a disgrace").
STRONG = re.compile(
    r"\b(?:worst|disgrac|disgust|outrag|useless|hopeless|scam|pathetic|furious|angry|fed up|sick of|incompeten|"
    r"gone downhill|went downhill|expected (?:better|more)|not what i expected|level of service|rude|impolite|"
    r"unfreundlich|impoli|grosero|maleducad|unfair|not fair|injust|ungerecht|unbelievabl|sick and tired|"
    r"tired of|beyond a joke|annoyed|genervt|agace\w*|irrite\w*|molest[oa]\b|"
    r"unhappy|(?:not|never) (?:\w+ ){0,2}?(?:happy|pleased|satisfied)|dissatisfied|frustrat|upset|ruined|"
    r"unzufrieden|nicht (?:\w+ ){0,2}?zufrieden|lacherlich|pas (?:\w+ ){0,2}?(?:satisfait|content)|insatisfait|"
    r"mecontent|(?:no|nada) (?:\w+ ){0,2}?(?:contento|contenta|satisfecho|satisfecha)|insatisfech|tomadura de pelo|"
    r"(?:what a|such a|total|complete|absolute) joke|joke of a|worthless|"
    r"unprofessional|rip.?off|appall|unacceptabl|ridiculous|disappoint|infuriat|livid|"
    r"frechheit|unverschamt|verargert|wutend|stinksauer|skandal|enttausch|unzumutbar|"
    r"inadmissibl|scandal|honte|furieux|furieuse|inacceptabl|lamentabl|arnaque|decu|decue|en colere|"
    r"verguenza|vergonzos|inaceptabl|harto|harta|enfadad|indignad|estafa|decepcion)\w*"
)
# Writing again, and problems that go on. One of these is a fact ("I'm still waiting for my
# delivery" is a question to answer); two, or one with an angry word, are exasperation.
AGAIN = re.compile(
    r"\b(?:again|(?:second|2nd) (?:time|email|e-mail|message|mail|request)|still nobody|"
    r"still (?:not|no|nothing|waiting|hasn'?t|haven'?t|isn'?t|don'?t|didn'?t)|"
    r"already (?:asked|written|wrote|contacted|called|emailed|told|complained|explained)|"
    r"nothing (?:has )?(?:happened|changed)|"
    r"(?:written|wrote|called|contacted|asked|emailed) (?:you )?(?:twice|two times)|"
    r"nobody (?:answers|replies|helps)|no one (?:answers|replies)|no (?:reply|answer|response)|schon wieder|"
    r"zum (?:zweiten|dritten) mal|"
    r"(?:immer noch|noch immer) (?:nicht|kein\w*|nichts)|niemand|"
    r"encore|encore une fois|de nouveau|toujours (?:pas|rien|aucun\w*)|personne ne|"
    r"deja (?:ecrit|demande|contacte|appele)|"
    r"otra vez|de nuevo|todavia no|aun no|sigo sin|sigue sin|nadie)\b"
)
DEMAND = re.compile(
    r"\b(?:immediately|right now|at once|fix (?:this|it)|(?:want|need) (?:this|it) (?:fixed|sorted|solved|resolved)|"
    r"sort (?:this|it) out|i demand|i insist|sofort|umgehend|unverzuglich|ich verlange|ich fordere|"
    r"where(?: is|'s) my money|wo ist mein geld|ou est mon argent|donde esta mi dinero|"
    r"immediatement|tout de suite|sur le champ|j'?exige|inmediatamente|ahora mismo|ya mismo|de inmediato|exijo|"
    r"(?:arregl|soluciona)\w* (?:esto |lo )?(?:ya|ahora)|(?:give|pay) me (?:back )?my money|"
    r"(?:my money back|refund me) (?:now|today|immediately|asap)|zuruckzahlen|sofort zuruck|"
    r"rembourse\w* (?:moi )?(?:tout de suite|immediatement|maintenant)|devuelv\w* (?:mi|el) dinero (?:ya|ahora))\b"
)
# What an upset customer is upset about: where their order or money is, something lost, broken or
# late, money wanted back, no answer. Said calmly it is a question to answer; with an angry word or
# a shout it is a complaint.
WHERE_IS = re.compile(
    r"\b(?:where|wo|wo bleibt|ou|donde)(?: is| ist| est| esta)? (?:my|mein\w*|ma|mon|mes|mi|mis) (?:order|parcel|"
    r"package|money|refund|stuff|things|delivery|purchase|bestellung|paket|geld|erstattung|lieferung|sachen|commande|"
    r"colis|argent|remboursement|affaires|pedido|paquete|dinero|reembolso|cosas)\b"
)
GRIEVANCE = re.compile(
    r"\b(?:(?:\d+|two|three|four|five|six|several|a few|many) (?:days|weeks|months) "
    r"(?:ago|and (?:still )?(?:nothing|no))|for (?:weeks|months)|"
    r"(?:waiting|waited) (?:for )?(?:\d+|two|three|four|five|six|several|weeks|months|days|ages)|"
    r"seit (?:\w+ )?(?:tagen|wochen|monaten)|depuis (?:\w+ )?(?:jours|semaines|mois)|"
    r"(?:hace|llevo) (?:\w+ )?(?:dias|semanas|meses)|llevo un mes|"
    r"never (?:arrived|came|received|got)|(?:not|n'?t) (?:arrived|received|come|here)|broken|damaged|missing|"
    r"(?:is|was|got|been) lost|lost (?:parcel|package|order)|(?:arrived|is|was|came) late|"
    r"nobody|no one|kaputt|beschadigt|(?:ist|sind) verloren|verloren gegangen|fehlt|niemand|nie angekommen|"
    r"nicht angekommen|zu spat|casse\w*|abime\w*|(?:colis|commande|paquet) (?:\w+ )?perdu|est perdu|en retard|"
    r"il manque|personne|roto|rota|danad\w*|(?:paquete|pedido) perdido|(?:se ha|esta) perdido|con retraso|nadie|"
    r"(?:want|need) (?:my )?(?:money|refund)|refund me|give me my money|my money back|mein geld zuruck|"
    r"remboursez-moi|(?:devuelvan|devolvedme|devuelveme) (?:el|mi) dinero|will (?:mein|meine) (?:geld|erstattung)|"
    r"veux (?:mon|etre) (?:argent|rembours\w*)|quiero (?:mi )?(?:dinero|reembolso))\b"
)
# What makes a message written all in capitals a shout: a problem, a "no", an exclamation. A
# question in capitals that says none of these ("WHAT ARE YOUR OPENING HOURS") is only a way of
# writing, and is answered.
NEGATIVE = re.compile(
    r"\b(?:not|no|never|nobody|nothing|none|stop|still|now|jetzt|maintenant|ahora|ya|(?:is|are|was|were|has|have|had|"
    r"do|does|did|wo|ca|could)n'?t|"
    r"nicht|kein\w*|nie|niemand|nichts|immer noch|"
    r"pas|jamais|personne|rien|toujours|nunca|nadie|nada|todavia|aun)\b|!|\?\?"
)
# Writing for the third time or more is a complaint however calmly it is put.
CONTACTED = (
    r"(?:writ\w*|wrote|ask\w*|contact\w*|call\w*|rang|email\w*|messag\w*|complain\w*|chas\w*|"
    r"schreib\w*|geschrieben|frag\w*|gefragt|anruf\w*|angerufen|kontaktier\w*|gemeldet|nachgefragt|"
    r"ecri\w*|contacte\w*|appele\w*|relance\w*|demande\w*|"
    r"escrib\w*|escrito|llamad\w*|llamo|contactad\w*|pregunt\w*|reclamad\w*)"
)
REPEATED = re.compile(
    r"\b(?:(?:third|fourth|fifth|sixth|umpteenth|3rd|4th|5th) (?:time|message|email|e-mail|mail|attempt|request)|"
    r"(?:been|keep|kept) chasing|"
    # Written to, and nobody answered: the same.
    r"(?:nobody|no one) (?:has |had |ever )?(?:answered|replied|responded|got back|gotten back|called back|"
    r"written back)(?: to)? (?:me|my|our)\b|niemand (?:hat|antwortet) (?:\w+ ){0,3}?(?:geantwortet|antwortet|"
    r"zuruckgerufen|gemeldet|auf meine)|personne ne (?:m'a |me )?(?:repond|a repondu|rappelle|m'a rappele)\w*|"
    r"nadie (?:me )?(?:responde|contesta|ha respondido|ha contestado|me ha respondido|me ha contestado)\b|"
    rf"{CONTACTED}\W+(?:\w+\W+){{0,4}}?(?:(?:three|four|five|six|several|many|multiple|countless|numerous) times|"
    r"over and over|again and again|(?:drei|vier|funf)mal|mehrmals|mehrfach|x-mal|zigmal|"
    r"(?:plusieurs|maintes|trois|quatre|cinq) fois|(?:varias|muchas|tres|cuatro|cinco|mil) veces)|"
    r"(?:(?:drei|vier|funf)mal|mehrmals|mehrfach|x-mal|zigmal|immer wieder|(?:plusieurs|trois|quatre) fois|"
    rf"(?:varias|muchas|tres|cuatro) veces)\W+(?:\w+\W+){{0,4}}?{CONTACTED}|"
    r"keep (?:writing|asking|calling|emailing|chasing|contacting)|"
    rf"(?:how many times|how often|wie oft|combien de fois|cuantas veces) (?:[\w'-]+ ){{0,4}}?{CONTACTED}|"
    r"zum (?:dritten|vierten|funften|x-ten|zigsten) mal|(?:troisieme|quatrieme|cinquieme|enieme) fois|"
    r"(?:tercera|cuarta|quinta|enesima) vez)\b"
)
# Being charged twice is a question when asked ("am I charged twice?", "I was charged twice, is
# that normal?"), one signal when told.
CHARGED_TWICE = re.compile(
    r"\b(?:charged (?:me )?(?:twice|two times|double)|double(?:-| )charged|"
    r"(?:took|taken|debited|billed|deducted) (?:\w+ ){0,3}?(?:twice|two times)|"
    r"(?:zweimal|doppelt) (?:abgebucht|belastet|berechnet|bezahlt|eingezogen)|"
    r"(?:debite|preleve|facture)\w* deux fois|(?:cobrado|cobraron|cobrais) (?:\w+ )?dos veces|"
    r"cobro doble|doble cobro)\b"
)
SHOUTING = re.compile(r"\b[A-ZÄÖÜ]{3,}\b")
WORDS_IN_CAPITALS = re.compile(r"\b[A-ZÄÖÜÉÈÀÇÑ']{2,}\b")
ACRONYMS = {"DHL", "DPD", "SEPA", "VAT", "EUR", "USA", "IBAN", "PDF", "FAQ", "GMBH", "CET", "PIN", "SMS", "API"}


def tone(text: str) -> int:
    """How many signals of an upset customer the message carries (0 for a calm one)."""
    plain = folded(text)
    shouted = [word for word in SHOUTING.findall(text) if word not in ACRONYMS]
    # Two different angry words say more than one; the same one twice says no more.
    upset = (
        sum(min(2, len(set(pattern.findall(plain)))) for pattern in (ANGRY, DEMAND))
        + (bool(shouted) and not text.isupper())
        + (text.count("!") >= 2 or "?!" in text or "!?" in text)
        + (2 if shouts(text, plain) else 0)
        + (2 if STRONG.search(plain) and not asks_calmly(text) else 0)
    )
    return (
        upset
        + min(2, len(set(AGAIN.findall(plain))))
        + (2 if REPEATED.search(plain) else 0)
        + (bool(CHARGED_TWICE.search(plain)) and not asks_calmly(text))
        + (bool(upset) and bool(GRIEVANCE.search(plain) or WHERE_IS.search(plain)))
    )


def shouts(text: str, plain: str) -> bool:
    """Whether the message is written all in capitals about a problem: upset enough to be a
    complaint on its own. Capitals alone are a way of writing, not a shout."""
    words = [word for word in WORDS_IN_CAPITALS.findall(text) if word not in ACRONYMS]
    if len(words) < 2 or not text.isupper():
        return False
    grievance = GRIEVANCE.search(plain) and not asks_calmly(text)
    return bool(NEGATIVE.search(plain) or ANGRY.search(plain) or DEMAND.search(plain) or grievance)
