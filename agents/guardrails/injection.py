"""A screen for prompt injection: customer text that tries to give the AI new instructions.

Phrase patterns in the languages the desk serves, matched on accent-free lower case. A match
hands the turn to a person rather than arguing with the text: a false alarm costs a human a
minute, a missed attack could cost a refund.
"""

import re
from dataclasses import dataclass

from agents.guardrails.language import folded

SIGNALS: dict[str, re.Pattern] = {
    "override": re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:previous|prior|above|earlier|all|your|the)\b"
        r".{0,30}\b(?:instructions?|rules?|prompts?|guidelines|directions|constraints)"
        r"|\bignorier\w*\b.{0,40}\b(?:anweisungen|regeln|vorgaben|instruktionen)"
        r"|\bvergiss\b.{0,40}\b(?:anweisungen|regeln)"
        r"|\bignor\w*\b.{0,40}\b(?:instructions|consignes|regles|instrucciones|reglas)"
        r"|\boublie\w*\b.{0,40}\b(?:instructions|consignes|regles)"
        r"|\bolvida\w*\b.{0,40}\b(?:instrucciones|reglas)"
    ),
    "reveal": re.compile(
        r"\b(?:reveal|show|print|repeat|tell me|output|leak|what (?:is|are))\b.{0,30}"
        r"\b(?:system prompt|your (?:instructions|prompt|rules)|initial prompt|hidden prompt)"
        r"|\b(?:zeig|verrat|gib)\w*\b.{0,30}\b(?:systemprompt|system-prompt|deine anweisungen)"
        r"|\b(?:montre|revele|affiche)\w*\b.{0,30}\b(?:prompt systeme|tes instructions)"
        r"|\b(?:muestra|revela)\w*\b.{0,30}\b(?:prompt del sistema|tus instrucciones)"
    ),
    "role_play": re.compile(
        r"\byou are (?:now|no longer)\b|\bfrom now on,? you\b|\bact as (?:an? )?(?:unrestricted|jailbroken|dan)\b"
        r"|\bpretend (?:to be|you are)\b|\b(?:developer|god|admin|debug) mode\b|\bjailbreak|\bdo anything now\b"
        r"|\bdu bist (?:jetzt|nun|ab sofort)\b|\btu es maintenant\b|\bahora eres\b"
    ),
    "fake_role": re.compile(
        r"(?:^|\n)\s*(?:system|assistant|developer)\s*:|<\s*/?\s*(?:system|im_start|im_end)\b|\[\s*/?\s*inst\s*\]"
        r"|\bbegin (?:system|new) (?:prompt|instructions)\b|###\s*(?:system|instruction)"
    ),
    "exfiltrate": re.compile(
        r"\b(?:api key|secret key|password of the admin|all customers?'? (?:emails|data|orders))\b"
        r"|\b(?:call|use|run)\b.{0,20}\btool\b.{0,40}\b(?:for every|all orders|without (?:approval|asking))"
        r"|\brefund\b.{0,40}\bwithout (?:approval|asking|checking)"
    ),
}


@dataclass(frozen=True)
class Screening:
    suspected: bool
    signals: list[str]


def screen(text: str) -> Screening:
    plain = folded(text)
    # fake_role looks at line starts, which folding keeps as spaces: check the raw lower case too.
    signals = [name for name, pattern in SIGNALS.items() if pattern.search(plain) or pattern.search(text.lower())]
    return Screening(bool(signals), signals)
