"""A screen for prompt injection: customer text that tries to give the AI new instructions.

Phrase patterns in English, German, French and Spanish (and the commonest Italian and
Portuguese ones), matched on several readings of the text: accent-free lower case, and the same
with the usual disguises undone (leetspeak such as "ign0re", look-alike letters from other
alphabets, invisible characters, letters spaced or dotted apart, letters repeated). A match
hands the turn to a person rather than arguing with the text: a false alarm costs a human a
minute, a missed attack could cost a refund. The screen is a first line only: whatever it says,
a gated tool (a refund, an address change) never runs without a reviewer's approval.

Every pattern's repetitions are bounded, so screening takes linear time on any text.
"""

import re
import unicodedata
from dataclasses import dataclass

from agents.guardrails.language import folded

# What the attacker wants the AI to drop, and the verbs for dropping it, per language.
_TOLD_EN = r"(?:what (?:you (?:were|have been|'ve been) told|(?:they|we|the (?:shop|developers?|company)) told you))"
_OBJECT_EN = (
    r"(?:instructions?|rules|prompts?|guidelines|guidance|directives?|directions|commands|constraints|restrictions"
    r"|polic(?:y|ies)|programming|training|system (?:message|prompt)|guardrails|safety (?:rules|guidelines|filters)"
    rf"|filters|limitations|{_TOLD_EN}|everything (?:you (?:were|have been|'ve been) (?:told|given)|above|before)"
    r"|(?:all )?(?:of )?(?:the )?(?:text|messages?|context) (?:above|before))"
)
_DROP_EN = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|discard|abandon|set aside|throw (?:away|out)"
    r"|pay no (?:attention|heed|mind) to|stop (?:following|obeying)|do not (?:follow|obey)|don'?t (?:follow|obey)"
    r"|no longer (?:follow|obey)|neglect)"
)
_OBJECT_DE = (
    r"(?:anweisung\w{0,3}|instruktion\w{0,3}|regel\w{0,3}|vorgabe\w{0,3}|befehl\w{0,3}|richtlinie\w{0,3}"
    r"|systemprompt|prompt\w{0,2}|alles,? was (?:dir|ihnen|man dir|man ihnen) (?:gesagt|vorgegeben))"
)
_DROP_DE = (
    r"(?:ignorier\w{0,3}|vergiss|vergessen sie|missacht\w{0,3}|ubergeh\w{0,3}|beachte\w{0,2} (?:nicht|keine)"
    r"|befolge\w{0,2} (?:nicht|keine)|hor\w{0,2} auf)"
)
_OBJECT_FR = (
    r"(?:instructions?|consignes?|regles|directives?|prompt|tout ce qu'?on (?:t'|vous )?a dit|tout ce qui precede"
    r"|ce qui precede)"
)
_DROP_FR = (
    r"(?:(?<!j')(?<!j' )ignore[rz]?|oublie[rz]?|ne (?:tiens|tenez) (?:pas|plus) compte|(?:fais|faites) abstraction"
    r"|laisse[rz]? de cote|passe[rz]? outre|ne (?:suis|suivez|respecte|respectez) (?:pas|plus))"
)
_OBJECT_ES = (
    r"(?:instrucciones|reglas|indicaciones|directrices|normas|prompt|todo lo que te (?:dijeron|han dicho|indicaron))"
)
_DROP_ES = (
    r"(?:ignora[dr]?|olvida[dr]?|omite|haz caso omiso|hagan caso omiso|no hagas caso|descarta[dr]?"
    r"|deja de (?:lado|seguir)|no (?:sigas|obedezcas|respetes))"
)

SIGNALS: dict[str, re.Pattern] = {
    "override": re.compile(
        rf"\b{_DROP_EN}\b.{{0,60}}?\b{_OBJECT_EN}"
        r"|\b(?:reset|wipe|erase|clear)\b.{0,20}\byour\b.{0,20}\b(?:instructions|programming|rules|prompt|memory)"
        rf"|\b{_DROP_DE}\b.{{0,60}}?\b{_OBJECT_DE}|\bsetz\w{{0,3}}\b.{{0,40}}\b(?:ausser|außer) kraft"
        rf"|{_DROP_FR}\b.{{0,60}}?\b{_OBJECT_FR}"
        rf"|\b{_DROP_ES}\b.{{0,60}}?\b{_OBJECT_ES}"
        r"|\b(?:ignora|dimentica)\b.{0,30}\b(?:istruzioni|regole)\b|\b(?:ignore|esqueca)\b.{0,30}\b(?:instrucoes|regras)\b"
        r"|\b(?:new|updated|revised|real) (?:instructions|rules|system prompt)\s{0,3}:"
        r"|\b(?:here are|these are) your (?:new|real|updated) (?:instructions|rules)"
        r"|\byour (?:new|real|only) (?:task|goal|role|job|instructions?|purpose) (?:is|are|will be)\b"
        r"|\bneue (?:anweisungen|instruktionen|regeln)\b|\bnouvelles? (?:instructions|consignes|regles)\b"
        r"|\bnuevas (?:instrucciones|reglas|indicaciones)\b"
    ),
    "reveal": re.compile(
        r"\b(?:reveal|show|print|repeat|display|output|leak|tell me|give me|share|write (?:out|down)|recite|dump"
        r"|paste|spell out|read (?:me )?back|what(?:'s| is| are| was| were))\b.{0,40}"
        r"\b(?:(?:your|the) (?:system|initial|original|hidden|secret|internal|developer|exact|full|first) "
        r"(?:prompt|instructions|message|rules|configuration)|system ?prompt"
        r"|(?:the )?(?:text|words|instructions|lines) (?:above|before (?:this|my))"
        r"|your (?:instructions|prompt|programming|rules|guidelines)"
        r"(?! (?:for|to|on|about|regarding|when|if|of))|what (?:you were|you've been|you have been) told)"
        r"|\b(?:zeig\w{0,3}|verrat\w{0,3}|gib|nenn\w{0,3}|wiederhol\w{0,3}|druck\w{0,3})\b.{0,40}"
        r"\b(?:system-?prompt|systemnachricht|deine (?:anweisungen|instruktionen|regeln|vorgaben)"
        r"|(?:ursprunglichen|geheimen|versteckten) (?:anweisungen|instruktionen))"
        r"|\b(?:revele\w{0,3}|montre\w{0,3}|affiche\w{0,3}|donne\w{0,3}|repete\w{0,3}|dis-moi|ecri\w{0,4})\b.{0,40}"
        r"\b(?:prompt (?:systeme|initial)|tes (?:instructions|consignes|regles)|vos (?:instructions|consignes)"
        r"|instructions (?:initiales|cachees|secretes|systeme))"
        r"|\b(?:muestra\w{0,4}|revela\w{0,4}|dime|ensena\w{0,4}|imprime|repite|escribe)\b.{0,40}"
        r"\b(?:(?:el )?prompt (?:del sistema|de sistema|inicial)|tus (?:instrucciones|reglas|indicaciones)"
        r"|instrucciones (?:iniciales|ocultas|secretas|del sistema))"
    ),
    "role_play": re.compile(
        r"\byou(?: are|'re) (?:now (?:an? |in |acting|going to (?:act|be|ignore)|free|unrestricted|unfiltered"
        r"|jailbroken|dan\b|evil|no longer)|no longer (?:an?|bound|restricted|limited|the))"
        r"|\bfrom now on,? you(?: are|'re| will (?:act|be|respond|answer|behave|ignore|pretend|only)| must)\b"
        r"|\bact as (?:an? )?(?:unrestricted|jailbroken|unfiltered|uncensored|evil|different|dan)\b"
        r"|\bpretend (?:to be|you are|you're|that you)\b|\brole-?play as\b|\bsimulate (?:being|an? (?:ai|assistant))"
        r"|\b(?:developer|god|admin|debug|maintenance|sudo|root|unrestricted|jailbreak) mode\b|\bjailbreak"
        r"|\bdo anything now\b|\bdan (?:mode|prompt)\b"
        r"|\b(?:respond|answer|reply|speak|talk|act|operate)\b.{0,20}\bwithout (?:any )?(?:restrictions|filters"
        r"|censorship|rules|limitations|guidelines)"
        r"|\bdu bist (?:jetzt|nun|ab sofort|ab jetzt|von nun an)\b|\b(?:ab sofort|von nun an) bist du\b"
        r"|\btu so,? als (?:ob|warst)\b|\bentwicklermodus\b"
        r"|\b(?:tu es|vous etes) (?:maintenant|desormais|a present)\b|\ba partir de maintenant,? (?:tu|vous)\b"
        r"|\bfai(?:s|tes) semblant d'?etre\b|\bmode developpeur\b"
        r"|\b(?:ahora|desde ahora) eres\b|\ba partir de ahora,? (?:eres|seras|actua|responde)\b"
        r"|\bfinge (?:ser|que eres)\b|\bmodo desarrollador\b"
    ),
    "fake_role": re.compile(
        r"(?:^|\n)[ \t]{0,10}(?:system|assistant|developer|admin)[ \t]{0,3}:"
        r"|<\s{0,3}/?\s{0,3}(?:system|im_start|im_end)\b|<\|\s{0,3}(?:system|im_start|im_end)|\[\s{0,3}/?\s{0,3}(?:inst|system)\s{0,3}\]|<<\s{0,3}sys\s{0,3}>>"
        r"|\bbegin (?:system|new) (?:prompt|instructions)\b|###\s{0,3}(?:system|instructions?)\b|```\s{0,3}system"
    ),
    "exfiltrate": re.compile(
        r"\b(?:api key|secret key|password of the admin|admin password"
        r"|all customers?'? (?:emails|data|orders|addresses)"
        r"|(?:every|all|other) customers?'?s? (?:emails|data|orders|addresses|details))"
        r"|\b(?:list|send|give|show|export|dump)\b.{0,20}\b(?:all|every) (?:customers|users|orders)\b"
        r"|\b(?:call|use|run)\b.{0,20}\btool\b.{0,40}\b(?:for every|all orders|without (?:approval|asking))"
        r"|\b(?:refund|approve)\b.{0,40}\bwithout (?:approval|asking|checking|review)"
    ),
}


@dataclass(frozen=True)
class Screening:
    suspected: bool
    signals: list[str]


def screen(text: str) -> Screening:
    texts = readings(text)
    signals = [name for name, pattern in SIGNALS.items() if any(pattern.search(reading) for reading in texts)]
    return Screening(bool(signals), signals)


# Readings: the text as written, and with its disguises undone ----------------------------------

INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
# Letters of other alphabets that look like Latin ones (Cyrillic, Greek).
LOOK_ALIKES = str.maketrans("аеорсухіјѕԁɡνοαεικρτυмнтвк", "aeopcyxijsdgvoaeikptumhtbk")
LEET_AS_I = str.maketrans("013457@$|!", "oieastasli")
LEET_AS_L = str.maketrans("013457@$|!", "oleastasll")
# Letters set apart by one separator each ("i g n o r e", "i.g.n.o.r.e"); the same separator
# throughout, so that ordinary words and sentences are left alone.
SPACED_OUT = re.compile(r"(?<![^\W\d_])[^\W\d_](?:([ ._*/+-])[^\W\d_])(?:\1[^\W\d_]){2,60}(?![^\W\d_])")
REPEATED = re.compile(r"([^\W\d_])\1{2,}")
WHITESPACE = re.compile(r"\s+")


def readings(text: str) -> list[str]:
    """The text in the forms the patterns are tried on (each made in linear time)."""
    lower = text.lower()
    letters = INVISIBLE.sub("", lower.translate(LOOK_ALIKES))
    plain = folded(letters)
    # Spaced-out letters are joined before runs of spaces are squeezed: "i g n o r e  a l l"
    # becomes "ignore all", not "ignoreall".
    joined = SPACED_OUT.sub(lambda match: match.group(0).replace(match.group(1), ""), _unmarked(letters))
    undone = REPEATED.sub(r"\1", WHITESPACE.sub(" ", joined))
    return [lower, plain, undone.translate(LEET_AS_I), undone.translate(LEET_AS_L)]


def _unmarked(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
