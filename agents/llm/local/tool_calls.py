"""What a customer asks the shop to do, and the arguments they give for it, in every way
customers write them: `100234`, `#100234`, `100 234`; `19.90`, `€20`, `20 euros`, `20,50 €`;
a whole postal address after "to" or a colon."""

import re
from dataclasses import dataclass

from agents.guardrails.language import folded
from agents.llm.local.facts import EMAIL_ADDRESS
from agents.llm.local.intents import similarities
from agents.llm.local.phrases import say

STATUS, REFUND, CHANGE_ADDRESS = "get_order_status", "request_refund", "update_shipping_address"
ORDERS_BY_EMAIL = "list_recent_orders"

ORDER_WORD = (
    r"(?:order|orders|ord|parcel|package|bestellung|bestellnummer|auftrag|commande|pedido|numero|number|nummer|nr|no)"
)
# Spaces are bounded: a run of them after "order" is tried a few times, not once per space.
ORDER_NUMBER = re.compile(
    rf"(?:\b{ORDER_WORD}\b\.?\s{{0,3}}(?:(?:no|nr|number|nummer|numero)\.?\s{{0,3}})?(?:is\s{{1,3}}|:\s{{0,3}})?#?"
    r"\s{0,3}|#\s?)"
    r"(\d{3} \d{3}\b|\d{4,12}\b)",
    re.I,
)
BARE_ORDER_NUMBER = re.compile(r"(?<![\d+.,/-])\b(\d{6}|\d{3} \d{3})\b(?![.,/-]?\d)")
CURRENCY = r"(?:€|eur\b|euros?\b)"
NUMBER = r"(\d{1,6}(?:[.,]\d{1,2})?)"
AMOUNT = re.compile(rf"{CURRENCY}\s?{NUMBER}(?![\d.,]*\d)|(?<![\d.,])\b{NUMBER}\s?{CURRENCY}", re.I)
# "a refund of 19.90": two decimals say money even without a currency (but not a date, 12.03.1985).
BARE_AMOUNT = re.compile(r"(?<![\d.,])\b(\d{1,6}[.,]\d{2})\b(?![.,]?\d)")
EMAIL = EMAIL_ADDRESS
# An address follows "to", "nach", "à", "a", "an" or a colon, has a number and a place name.
ADDRESS_CUE = re.compile(r"(?:\bto\b|\bnach\b|\ban\b|(?<!\w)à|\bau\b|\ba\b|:)\s+", re.I)
# One character or word at a time: the alternatives never overlap, so nothing is tried twice.
ADDRESS_END = re.compile(
    r"(?:[\s,.!?]|\binstead\b|\bplease\b|\bpls\b|\bthanks?\b|\bthank you\b|\bbitte\b|\bstattdessen\b|\bmerci\b|"
    r"\bsvp\b|\bpor favor\b|\bgracias\b)*$",
    re.I,
)
# An address is written at the end of a message: only this much of it is looked at.
ADDRESS_WITHIN = 300
ADDRESS_SHAPE = re.compile(r"(?=.*\d)(?=.*[^\W\d_]{3,}).{10,}")

# What is asked, by its words (accent-free, lower case; a prefix matches its inflections).
ASKS_REFUND = re.compile(
    r"\b(?:refund|reimburs|money back|my money|erstatt|ruckerstatt|geld zuruck|rembours|reembols|"
    r"devuelv\w* (?:el|mi) dinero|devolucion del dinero)"
)
# "20 euros back", "return €15.50 to me".
GIVES_BACK = re.compile(r"\b(?:back|zuruck|rendre|devuelv)\b|\breturn (?=€|\d)|\bto me\b")
ASKS_CHANGE = re.compile(
    r"\b(?:chang|updat|new|send|ship|deliver|moved?|redirect|go to|instead|ander|neue|schick|liefer|umzieh|modifi|"
    r"nouvelle|envo|livr|cambi|nueva|envi|entreg)"
)
STATUS_WORDS = (
    r"where|status|track|arriv|ship|sent|dispatch|deliver|left|wait|come|late|wo\b|wann|bleibt|angekommen|verschickt|"
    r"versandt|unterwegs|geliefert|ou\b|statut|suivi|expedi|parti|livr|donde|estado|llega|enviad|cuando"
)
ASKS_STATUS = re.compile(rf"\b(?:{STATUS_WORDS})")
# A question for information ("When will my refund arrive?", "Did order 100702 get refunded?")
# asks to be told, not for something to be done; "Can you refund …?" asks for it politely.
ASKS_TO_BE_TOLD = re.compile(
    r"^\W*(?:when|how|where|what|why|did|does|do|has|have|is|was|are|wann|wie|wo|warum|wurde|ist|quand|comment|"
    r"ou|pourquoi|est-ce|cuando|como|donde|por que|cual)\b"
)
# The words of asking about an order's whereabouts, which say nothing about any other topic.
ORDER_TALK = re.compile(
    rf"\b(?:{ORDER_WORD}|delivery|shipment|paket|lieferung|sendung|colis|livraison|paquete|envio|"
    rf"my|meine?|ma|mon|mes|mi|mis|has|have|is|was|did|hat|ist|wurde|{STATUS_WORDS})\w*"
)
# "How do I track my parcel?" asks how to do something, not where the parcel is.
ASKS_HOW = re.compile(
    r"^\W*(?:how (?:do|can|should) (?:i|we)|where (?:do|can|should) (?:i|we)|can i|wie kann ich|wo kann ich|"
    r"comment (?:puis|peut|faire)|ou (?:puis|dois)-?je|como (?:puedo|hago)|donde (?:puedo|debo))\b"
)
MY_ORDER = re.compile(
    r"\b(?:my|meine?|ma|mon|mes|mi|mis)\s+(?:\w+\s+)?(?:order|parcel|package|delivery|shipment|bestellung|paket|"
    r"lieferung|sendung|commande|colis|livraison|pedido|paquete|envio)"
)


# A request to act without the shop's safeguards ("without approval", "the admin said it is
# fine", "skip the review") is never the AI's to take: a person decides it.
BYPASS = re.compile(
    r"\b(?:without|no|skip|skipping|bypass\w*|ignore|override|no need (?:for|to))\b\W+(?:\w+\W+){0,3}?"
    r"(?:approv\w*|review\w*|check\w*|verif\w*|confirm\w*|authori[sz]\w*|permission|rules?|policy|limits?)|"
    r"\b(?:admin|administrator|manager|boss|supervisor|your colleague|support)\b\W+(?:\w+\W+){0,3}?"
    r"(?:said|says|told|approved|allowed|agreed|confirmed|authori[sz]ed)\b|"
    r"\b(?:ohne|sans|sin)\b\W+(?:\w+\W+){0,2}?(?:genehmigung|freigabe|prufung|validation|approbation|"
    r"verification|aprobacion|revision|verificacion)"
)


def bypasses_safeguards(text: str) -> bool:
    return bool(BYPASS.search(folded(text)))


@dataclass(frozen=True)
class Request:
    """What the customer wants done (a tool name, or None) and the arguments found for it."""

    tool: str | None
    order_number: str | None = None
    amount: float | None = None
    address: str | None = None
    reason: str = ""


def beyond_the_order(text: str) -> str:
    """What a message says besides asking where an order is ("can I still cancel it?")."""
    return ORDER_TALK.sub(" ", folded(text))


def order_number_in(text: str) -> str | None:
    found = ORDER_NUMBER.search(text) or BARE_ORDER_NUMBER.search(text)
    return found.group(1).replace(" ", "") if found else None


def amount_in(text: str) -> float | None:
    number = order_number_in(text)
    if number:
        # An order number is never an amount, however it is written.
        text = re.sub(r"\s?".join(number), " ", text)
    found = AMOUNT.search(text) or BARE_AMOUNT.search(text)
    if not found:
        return None
    value = next(group for group in found.groups() if group)
    return float(value.replace(",", "."))


def address_in(text: str) -> str | None:
    """The last stretch after a cue that looks like a postal address (a number and a place)."""
    text = text[-ADDRESS_WITHIN:]
    for cue in reversed(list(ADDRESS_CUE.finditer(text))):
        candidate = ADDRESS_END.sub("", text[cue.end() :]).strip(" ,")
        number = order_number_in(candidate)
        if ADDRESS_SHAPE.match(candidate) and not (number and candidate.replace(" ", "").startswith(number)):
            return candidate
    return None


def email_in(text: str) -> str | None:
    found = EMAIL.search(text)
    return found.group(0) if found else None


# "I ordered a lamp yesterday" … "has it shipped?": the order the customer spoke of before.
ORDERED = re.compile(
    r"\b(?:i (?:ordered|bought|purchased)|my (?:order|purchase|parcel|package)|ich habe \w+ (?:\w+ )?bestellt|"
    r"j'ai (?:commande|achete)|he (?:pedido|comprado)|compre)\b"
)
IT = re.compile(r"\b(?:it|they|es|sie|il|elle|lo|la)\b")


def request_of(text: str, earlier: list[str] = (), follows_a_question: bool = False) -> Request:
    """What the latest message asks the shop to do. A message that only answers the AI's question
    ("It's 100903", "20 euros") continues the request of the customer's earlier messages."""
    request = _request(text)
    plain = folded(text)
    if not request.tool and ASKS_STATUS.search(plain) and IT.search(plain) and not ASKS_HOW.search(plain):
        if any(ORDERED.search(folded(previous)) for previous in earlier[-2:]):
            return Request(STATUS, None, None, None, request.reason)
    if request.tool or not follows_a_question or not earlier:
        return request
    given = request.order_number or request.amount is not None or request.address
    if not given:
        return request
    for previous in reversed(earlier[-2:]):
        before = _request(previous)
        if before.tool or MY_ORDER.search(folded(previous)):
            return Request(
                before.tool or STATUS,
                request.order_number or before.order_number,
                request.amount if request.amount is not None else before.amount,
                request.address or before.address,
                before.reason or request.reason,
            )
    return request


def _request(text: str) -> Request:
    plain = folded(text)
    number, amount, address = order_number_in(text), amount_in(text), address_in(text)
    reason = text.strip()[:500]
    if address and ASKS_CHANGE.search(plain):
        return Request(CHANGE_ADDRESS, number, None, address, reason)
    wants_refund = ASKS_REFUND.search(plain) or (amount is not None and GIVES_BACK.search(plain))
    if wants_refund and not (ASKS_TO_BE_TOLD.search(plain) and amount is None):
        return Request(REFUND, number, amount, None, reason)
    if number:
        return Request(STATUS, number, None, None, reason)
    if MY_ORDER.search(plain) and ASKS_STATUS.search(plain) and not ASKS_HOW.search(plain):
        return Request(STATUS, None, None, None, reason)
    return Request(None, None, amount, address, reason)


# Tool specs --------------------------------------------------------------------------------

# A tool whose description fits the request less than this is not called.
FITS_FROM = 0.2


def spec_named(tools: list[dict], name: str) -> dict | None:
    return next((tool for tool in tools if tool["function"]["name"] == name), None)


def best_tool(request: str, tools: list[dict]) -> tuple[dict | None, float]:
    """The tool whose name and description fit the request best, and how well (a similarity):
    for tools the local model knows nothing else about."""
    if not tools or not request.strip():
        return None, 0.0
    descriptions = [f"{t['function']['name'].replace('_', ' ')}: {t['function'].get('description', '')}" for t in tools]
    scores = similarities(request, descriptions)
    best = int(scores.argmax())
    return tools[best], float(scores[best])


def missing_arguments(tool: dict, arguments: dict) -> list[str]:
    required = tool["function"].get("parameters", {}).get("required", [])
    return [name for name in required if arguments.get(name) in (None, "")]


def ask(missing: list[str], language: str) -> str:
    """A clarifying question for the arguments the customer has not given yet."""
    wanted = " & ".join(say(name, language) for name in missing)
    return say("ask", language, wanted=wanted)


def follows_a_question(messages: list[dict]) -> bool:
    """Whether the model's last message before the customer's latest one asked them something."""
    last_user = max((index for index, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for message in reversed(messages[:last_user]):
        if message.get("role") == "assistant":
            return (message.get("content") or "").rstrip().endswith("?")
    return False
