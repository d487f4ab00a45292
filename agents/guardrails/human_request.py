"""Spotting a customer who asks for a person, in English, German, French, Spanish, Italian,
Portuguese and Dutch. A phrase match is certain enough to skip the intent model: nobody should
have to convince a bot that they want a human."""

import re

from agents.guardrails.language import folded

PERSON_EN = (
    r"(?:human|person|people|agent|representative|rep|operator|someone|somebody|staff|employee|manager|supervisor)"
)
PERSON_DE = r"(?:mensch|menschen|mitarbeiter\w*|person|berater\w*|kundenberater\w*|support\w*)"
PERSON_FR = r"(?:humain|personne|conseill\w*|agent|operat\w*|employe|service client)"
PERSON_ES = r"(?:humano|persona|agente|operador\w*|asesor\w*|empleado\w*|representante)"
BOT = r"(?:bot|robot|machine|maquina|maschine|roboter|ai|ki)"

PHRASES = re.compile(
    "|".join(
        [
            # English
            rf"\b(?:talk|speak|chat|connect|transfer|put)\w*\b.{{0,25}}\b(?:to|with|through to)\b.{{0,15}}"
            rf"\b(?:an? |real |live |actual )*{PERSON_EN}\b",
            r"\b(?:real|live|actual) (?:human|person|agent|people)\b",
            r"\b(?:human|person|agent|operator),? (?:please|pls|now)\b",
            r"^(?:human|agent|operator|representative)[.!]*$",
            rf"\b(?:no|not|stop|don'?t want|hate)(?: talking to| chatting with| the| a| an| this)* {BOT}\b",
            r"\bget me (?:an? )?(?:human|person|agent|manager)\b",
            # German
            rf"\b(?:mit|zu) (?:einem|einer|nem|ner)? ?(?:echten |richtigen |menschlichen )?{PERSON_DE}\b.{{0,25}}"
            r"\b(?:sprechen|reden|chatten|verbinden|schreiben)",
            r"\b(?:echte[rn]?|richtige[rn]?) (?:mensch|menschen|person|mitarbeiter)\b",
            rf"\bkein\w* {BOT}\b",
            r"\b(?:mensch|mitarbeiter),? bitte\b",
            # French
            r"\b(?:parler|discuter|echanger)\b.{0,12}\b(?:a|avec)\b.{0,12}"
            rf"(?:\bquelqu'?un\b|\b(?:un|une|le|la|l')\s?(?:vrai |vraie |veritable )?{PERSON_FR}\b)",
            r"\b(?:un|une) (?:vrai |vraie )?(?:humain|personne reelle|vraie personne)\b",
            rf"\bpas (?:un|de|avec un) {BOT}\b",
            # Spanish
            r"\b(?:hablar|conversar|chatear)\b.{0,12}\bcon\b.{0,12}"
            rf"(?:\balguien\b|\b(?:un|una|el|la) {PERSON_ES}\b)",
            r"\b(?:persona real|un humano|una persona de verdad|ser humano)\b",
            rf"\bno (?:quiero )?(?:hablar con )?(?:un|una|el|la)? ?{BOT}\b",
            # Italian, Portuguese, Dutch
            r"\bparlare con (?:un|una|qualcuno|un operatore|una persona|un umano)\b",
            r"\bfalar com (?:um|uma|alguem|um atendente|uma pessoa|um humano)\b",
            r"\bmet (?:een )?(?:mens|medewerker|persoon)\b.{0,15}\b(?:spreken|praten)\b",
        ]
    )
)


def asks_for_a_person(text: str) -> bool:
    return bool(PHRASES.search(folded(text)))
