"""Spotting a customer who asks for a person, in English, German, French, Spanish, Italian,
Portuguese and Dutch. A phrase match is certain enough to skip the intent model: nobody should
have to convince a bot that they want a human."""

import re

from agents.guardrails.language import folded

PERSON_EN = (
    r"(?:human|person|people|agent|representative|rep|operator|someone|somebody|staff|employee|manager|supervisor|"
    r"colleagues?|customer (?:service|support|care)|support (?:team|staff)|your team|billing|sales team|"
    r"(?:\w+ )?department|(?:a )?member of (?:\w+ ){0,3}?"
    r"(?:staff|team))"
)
PERSON_DE = (
    r"(?:mensch|menschen|mitarbeiter\w*|person|berater\w*|kundenberater\w*|support\w*|jemand\w*|kolleg\w*|"
    r"kundenservice|kundendienst|ansprechpartner\w*|sachbearbeiter\w*)"
)
PERSON_FR = r"(?:humain|personne|conseill\w*|agent|operat\w*|employe|service client)"
PERSON_ES = r"(?:humano|persona|agente|operador\w*|asesor\w*|empleado\w*|representante)"
BOT = r"(?:bot|robot|machine|maquina|maschine|roboter|ai|ki)"

PHRASES = re.compile(
    "|".join(
        [
            # English
            rf"\b(?:talk|speak|chat|connect|transfer|put|pass|hand|forward|word)\w*\b.{{0,25}}"
            rf"\b(?:to|with|through to|w/)(?!\w)"
            rf".{{0,15}}\b(?:an? |real |live |actual |one of )*{PERSON_EN}\b",
            r"\b(?:real|live|actual) (?:human|person|agent|people)\b",
            r"\b(?:human|person|agent|operator),? (?:please|pls|now)\b",
            r"^(?:human|agent|operator|representative)[.!]*$",
            rf"\b(?:no|not|stop|don'?t want|hate)(?: talking to| chatting with| the| a| an| this)* {BOT}\b",
            r"\bget me (?:an? )?(?:real )?(?:human|person|agent|manager|someone|somebody)\b",
            r"\bget (?:an? )?(?:real )?(?:human|person|agent)(?![\w-])",
            r"\b(?:is|are) (?:there )?(?:a |any )?(?:real )?(?:human|person|people|agent|staff|someone|anyone|somebody)"
            r" (?:available|around|online|here)\b(?!\W+(?:on|at|during|over|in|this|after|before|until|till)\b)",
            r"\bget (?:someone|somebody) (?:to help|who can|from your)\b",
            r"\b(?:i|we) (?:want|need) (?:an? )?(?:real |actual |live )?(?:human|person)\b",
            r"\b(?:anybody|anyone|somebody|someone) (?:human|real)\b",
            r"\b(?:help|assistance|support) from (?:a |an )?(?:real )?(?:human|person|someone|somebody|agent|member of "
            r"staff)\b",
            r"^\W*(?:customer service|customer support|support|kundenservice|kundendienst|service client|"
            r"atencion al cliente|servicio al cliente|assistenza clienti|servizio clienti|atendimento ao cliente|"
            r"klantenservice)\W*(?:please|pls|bitte|svp|s'il vous plait|por favor|per favore|alstublieft|aub|"
            r"graag)?\W*$",
            r"\b(?:real|human|live) (?:support|help|assistance)\b|\bnot (?:an? )?(?:automated|automatic)\b|"
            r"\bno (?:more )?(?:automated|automatic) (?:replies|answers|responses|messages)\b",
            r"\bno more (?:chat)?bots?\b|\b(?:human|person|agent)\s*!",
            r"\b(?:menschliche\w*) (?:hilfe|unterstutzung|beratung)\b|\baide humaine\b|\b(?:atencion|ayuda|asistencia) "
            r"humana\b|\bassistenza umana\b",
            r"\b(?:someone|somebody|anyone|a person|a human)\b.{0,20}\b(?:i|we) (?:can|could) (?:talk|speak|chat)\b",
            r"\b(?:jemand\w*|einen menschen|eine person|einen mitarbeiter)\b.{0,25}\b(?:sprechen|reden)\b",
            rf"\b(?:(?:do not|don'?t) want|refuse) to (?:talk|chat|speak|deal)\w* (?:to|with) (?:an? |the |this )?"
            rf"{BOT}\b",
            r"\b(?:someone|somebody|anyone) (?:from|of|in) (?:your |the )?"
            r"(?:customer service|support|team|staff|company)\b",
            r"\b(?:a|an|one of your|a real) (?:person|human|colleague|team member)\b.{0,10}"
            r"\b(?:look|looks|check|checks|review|reviews|handle|handles|deal|deals)\b",
            r"\bsomeone (?:who|that) works (?:there|here|for you|at)\b",
            r"\b(?:rather|prefer to) (?:deal|talk|speak|chat)\w* (?:with|to) (?:an? )?(?:human|person|people)\b",
            rf"\b(?:{PERSON_EN}|mitarbeiter\w*|kolleg\w*|conseill\w*|asesor\w*|agente)\b.{{0,40}}"
            r"\b(?:personally|personlich|personnellement|personalmente|en persona)\b",
            # German
            rf"\b(?:mit|zu) (?:einem|einer|nem|ner)? ?(?:echten |richtigen |menschlichen )?{PERSON_DE}\b.{{0,25}}"
            r"\b(?:sprechen|reden|chatten|verbinden|schreiben)",
            r"\b(?:echte[rn]?|richtige[rn]?) (?:mensch|menschen|person|mitarbeiter)\b",
            rf"\bkein\w* {BOT}\b",
            r"\bkein\w* (?:chat)?bot\w*\b",
            r"\b(?:mensch|mitarbeiter),? bitte\b",
            r"\bbitte (?:einen|eine|ein) (?:mitarbeiter\w*|menschen|person|berater\w*)\b",
            rf"\b(?:verbinde|leite|stelle|weiter|durchstell)\w*\b.{{0,20}}\b(?:an|zu|mit)\b.{{0,20}}\b{PERSON_DE}\b",
            r"\b(?:echte[nmr]?|richtige[nmr]?|menschliche[nmr]?|personliche[nmr]?) ansprechpartner\w*\b",
            r"\bist (?:ein|eine|jemand) (?:\w+ )?(?:mitarbeiter\w*|mensch|person|da)\b.{0,15}\b(?:da|erreichbar|"
            r"verfugbar|online)\b",
            # French
            r"\b(?:parler|discuter|echanger)\b.{0,12}\b(?:a|avec)\b.{0,12}"
            rf"(?:\bquelqu'?un\b|\b(?:un|une|le|la|l')\s?(?:vrai |vraie |veritable )?{PERSON_FR}\b)",
            r"\b(?:un|une) (?:vrai |vraie )?(?:humain|personne reelle|vraie personne)\b",
            rf"\bpas (?:un|une|de|avec un|avec une) {BOT}\b",
            r"\b(?:un|une) (?:vrai|vraie|veritable) (?:conseill\w*|agent|personne|employe|humain|interlocut\w*)\b",
            r"\bavoir quelqu'?un (?:au telephone|en ligne|au bout du fil)\b",
            rf"\b(?:pas|plus) (?:parler|discuter|echanger) (?:a|avec) (?:un|une|le|la|ce) {BOT}\b",
            rf"\bpasse[rz]?\W+moi\b.{{0,15}}(?:\bquelqu'?un\b|\b(?:un|une|le|la|l')\s?(?:vrai |vraie )?{PERSON_FR}\b)",
            rf"\b(?:mettre|mettez|mets)\b.{{0,10}}\ben (?:relation|contact)\b.{{0,10}}\bavec\b.{{0,15}}{PERSON_FR}\b",
            r"\bqu'(?:un|une) (?:vrai |vraie )?(?:agent|conseill\w*|humain|employe|operat\w*)\b",
            r"\bquelqu'?un de (?:reel|vrai|humain)\b",
            r"\b(?:un|une) (?:conseill\w*|agent|operat\w*|humain)\W+(?:svp|s'il vous plait|stp|merci)\b",
            # Spanish
            r"\b(?:hablar|conversar|chatear)\b.{0,12}\bcon\b.{0,12}"
            rf"(?:\balguien\b|\b(?:un|una|el|la) {PERSON_ES}\b)",
            r"\b(?:persona real|un humano|una persona de verdad|ser humano)\b",
            rf"\bno (?:quiero )?(?:hablar con )?(?:un|una|el|la)? ?{BOT}\b",
            r"\b(?:pas(?:a|as|e|en|an|ar)(?:me|nos)?|ponme|ponerme|comunicarme|comunicame)\b.{0,10}\bcon\b.{0,12}"
            rf"(?:\balguien\b|\b(?:un|una|el|la) {PERSON_ES}\b|\batencion al cliente\b|\bservicio al cliente\b)",
            r"\b(?:hablar|chatear)\b.{0,12}\bcon\b.{0,12}\b(?:atencion al cliente|servicio al cliente|soporte)\b",
            r"\bque me atienda (?:una persona|alguien|un humano|un agente)\b",
            r"\balguien\b.{0,20}\bme (?:atienda|atendiera|atiendan)\b",
            r"\balguien (?:del|de su|de vuestro) (?:equipo|personal|servicio)\b",
            r"\b(?:un|una) (?:agente|persona|humano|asesor\w*|operador\w*)\W+por favor\b",
            r"\b(?:alguna persona|alguien|algun agente|algun humano) (?:disponible|real)\b",
            r"\b(?:lo vea|lo revise|lo mire) (?:una persona|alguien|un humano)\b",
            # Italian, Portuguese, Dutch
            r"\bparlare con (?:un|una|qualcuno|un operatore|una persona|un umano|l'assistenza)\b",
            r"\b(?:voglio|vorrei) (?:un|una|parlare con) (?:operatore|persona|umano|essere umano)\b",
            r"\bqualcuno (?:con cui|a cui)\b.{0,15}\bparlare\b|\boperatore\b",
            r"\balguem\b.{0,15}\b(?:me atender|para atender|falar comigo)\b",
            r"\b(?:quero|preciso de|gostaria de|passa\w*(?: para)?) (?:um|uma) (?:atendente|pessoa|humano)\b|"
            r"\batendente,? por favor\b",
            r"\bmag ik (?:een )?(?:mens|medewerker|persoon|iemand)\b|\bverbind (?:me|mij)\b.{0,10}\bmet\b|"
            r"\bdoorverbinden\b",
            r"\bgeen (?:chat)?bot\b",
            r"\b(?:operatore umano|una persona (?:vera|reale)|un essere umano|passami un operatore)\b",
            r"\bfalar com (?:um|uma|alguem|um atendente|uma pessoa|um humano|o atendimento)\b",
            r"\b(?:atendimento humano|pessoa real|uma pessoa de verdade|um atendente humano)\b",
            r"\bmet (?:een )?(?:mens|medewerker|persoon|iemand)\b.{0,15}\b(?:spreken|praten|chatten|bellen)\b",
            r"\b(?:een (?:echt(?:e)? )?(?:mens|persoon|medewerker)|iemand)\b.{0,15}\b(?:spreken|praten)\b",
            r"\bmedewerker\W+(?:alstublieft|aub|graag|a\.u\.b)",
        ]
    )
)


def asks_for_a_person(text: str) -> bool:
    return bool(PHRASES.search(folded(text)))
