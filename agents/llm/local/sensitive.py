"""Matters the AI must not handle, whatever the help articles say about them: a legal threat, a
hacked account, a request about the customer's personal data, a disputed or fraudulent payment,
someone's health or safety, a customer in crisis, abuse, an attempt to make the AI drop its rules,
and a request to escalate. Each goes to a person.

Patterns are matched on the folded text (lower case, accents removed) in the four widget
languages; a prefix matches its inflections. Every repetition is bounded, so each runs in
linear time on any message.
"""

import re
from dataclasses import dataclass

from agents.guardrails.language import folded

# The intents the shipped pipeline hands over on (`complaint`, `human_request`) and the one a
# run with no intent to trust gets (confidence 0: the AI does not decide it).
COMPLAINT, HUMAN_REQUEST, UNKNOWN = "complaint", "human_request", "unknown"

W = r"(?:\w+\W+){0,3}?"  # up to three words in between
W5 = r"(?:\w+\W+){0,5}?"

LEGAL = (
    r"\b(?:lawyers?|solicitors?|attorneys?|lawsuit|sue|suing|court|legal (?:action|steps|proceedings)|"
    r"small claims|consumer (?:protection|rights (?:agency|office))|ombudsman|trading standards|"
    r"report(?:ed|ing)? you\b|"
    r"anwalt|anwaltin|rechtsanwalt\w*|verklag\w*|gericht\w*|rechtliche schritte|verbraucherzentrale|"
    r"anzeige erstatt\w*|zeige (?:sie|euch) an|"
    r"avocat\w*|porter plainte|plainte contre|tribunal|poursuites?|en justice|"
    r"abogad\w*|demandar\w*|denunci\w*|juicio|oficina del consumidor)\b"
)
SECURITY = (
    r"\b(?:hack(?:ed|er|ers)?|compromised|account (?:was |got |has been )?(?:stolen|taken over)|"
    rf"(?:someone|somebody|stranger)\b\W+{W}(?:logged|signed|got|broke)\W+(?:in|into)\b|"
    rf"(?:someone|somebody|a stranger)\b\W+{W}(?:changed|reset|used|accessed|got into)\b|it (?:was not|wasn'?t) me\b|"
    r"(?:orders?|purchases?|charges?) (?:that )?i (?:did not|didn'?t|never) (?:make|made|place|placed|order)|"
    r"(?:orders?|purchases?|charges?) i (?:do not|don'?t) recogni[sz]e|(?:aren'?t|are not|weren'?t) my orders|"
    rf"gehackt|konto\W+{W}ubernommen|nicht von mir|pirate|piratage|ne sont pas (?:mes|de moi)|hackead\w*|"
    r"(?:robado|robaron) (?:la|mi) cuenta|no son mios)\b"
)
PERSONAL_DATA = (
    r"\b(?:gdpr|dsgvo|rgpd|data protection|datenschutz|"
    rf"(?:delete|erase|remove|wipe|forget)\b\W+{W}(?:my|all)\b\W+{W}(?:data|information|details|account|"
    r"e-?mail|records?|everything)|"
    r"(?:copy|access|all|export)\b\W+(?:\w+\W+){0,4}?data (?:you|that you) (?:hold|have|store|keep)|"
    r"data (?:you|that you) (?:hold|have|store|keep)|everything you (?:store|hold|have|keep) about me|"
    rf"(?:losch\w*|entfern\w*)\b\W+{W5}(?:daten|konto|account)|(?:daten|konto)\b\W+{W5}(?:losch\w*|entfern\w*)|"
    rf"(?:supprim\w*|effac\w*|retir\w*)\b\W+{W5}(?:donnees|compte)|"
    rf"(?:borr\w*|elimin\w*|suprim\w*)\b\W+{W5}(?:datos|cuenta))\b"
)
PAYMENT_DISPUTE = (
    r"\b(?:charge ?backs?|disput\w*|fraud\w*|unauthori[sz]ed|stolen card|someone (?:is )?using my card|"
    r"somebody (?:is )?using my card|identity theft|"
    r"ruckbuchung|betrug\w*|gestohlen\w*|fraude\w*|frauduleu\w*|vol de carte|usurpation|contracargo)\b"
)
SAFETY = (
    r"\b(?:caught fire|on fire|fire hazard|smoking|smoked|smoke came|overheat\w*|explod\w*|exploded|burn(?:ed|t|s)? "
    r"(?:my|me|him|her|his|our|the child|the baby)|injur\w*|hurt|electric shock|electrocut\w*|allergic|poison\w*|"
    r"hospital|ambulance|choking|"
    r"verletz\w*|verbrannt|feuer|rauch\w*|stromschlag|uberhitzt|krankenhaus|vergift\w*|"
    r"blesse\w*|brule\w*|incendie|feu|fumee|decharge electrique|hopital|intoxi\w*|"
    r"herid\w*|quemad\w*|quemo|incendio|fuego|humo|descarga electrica|hospital|intoxic\w*)\b"
)
CRISIS = (
    r"\b(?:kill myself|killing myself|end(?:ing)? (?:it all|my life)|suicid\w*|self.?harm|hurt myself|"
    r"(?:do not|don'?t) want to (?:live|be alive)|want to die|no reason to live|"
    r"mich umbringen|nicht mehr leben|selbstmord|suizid\w*|"
    r"me suicider|envie de mourir|plus envie de vivre|mettre fin a mes jours|"
    r"quitarme la vida|no quiero vivir|quiero morir(?:me)?|suicidarme)\b"
)
ABUSE = (
    r"\b(?:idiots?|stupid|moron\w*|dumb|shut up|f\*+k?|f\W?u\W?c\W?k\w*|fck\w*|shit\w*|crap|garbage|bastard\w*|"
    r"screw you|damn you|piece of (?:junk|garbage|shit|crap)|"
    r"arschloch|idiot\w*|scheiss\w*|vollidiot\w*|halt die klappe|depp\w*|"
    r"connard\w*|putain|merde|ta gueule|cretin\w*|abruti\w*|"
    r"idiota\w*|imbecil\w*|mierda|callate|gilipollas|estupid\w*)"
)
MANIPULATION = (
    r"\b(?:pretend (?:you|to be|that)|act as (?:if|the|my|an? (?:admin|developer|ai|assistant|bot|different|"
    r"unrestricted))|roleplay|role-play|you are now|from now on,? you|"
    r"without (?:any )?(?:restrictions|filters|limits|rules)|(?:repeat|print|show|reveal) (?:the|your)\b\W+"
    r"(?:\w+\W+){0,2}?(?:above|instructions|prompt|rules)|(?:system|initial|hidden|secret) (?:prompt|instructions)|"
    r"developer (?:mode|message)|new instructions|jailbreak|admin(?:istrator)? password|"
    r"i(?:'m| am) (?:an? |the )?(?:employee|staff member|admin\w*|store manager|shop owner|owner of the shop|developer|"
    r"your (?:boss|manager|developer|colleague))|"
    r"tu so als|so tun als|du bist jetzt|ab jetzt bist du|fais comme si|tu es maintenant|fais semblant|"
    r"haz como si|finge (?:que|ser)|ahora eres)\b"
)
ESCALATION = (
    r"\b(?:escalat\w*|(?:your|a|the) (?:manager|boss|supervisor|superior)|"
    r"(?:whoever|someone|somebody|anyone|person)\W+(?:\w+\W+){0,2}?in charge|"
    r"(?:someone|somebody|a person|your team|an agent|a human)\W+(?:\w+\W+){0,3}?(?:contact|call|email|write to|"
    r"get back to|reach) me|call me back|ring me back|human being|"
    r"(?:isn'?t|is not|not) a (?:computer|bot|robot|machine)|(?:speak|talk) to (?:someone|somebody)|"
    r"vorgesetzt\w*|chef|eskalier\w*|ruckruf\w*|zuruckruf\w*|rufen sie mich (?:zuruck|an)|"
    r"responsable|superieur|rappelez-moi|me rappeler|escalad\w*|supervisor|jefe|llamenme|devuelvan la llamada|"
    r"llamarme|llameme|me (?:puede|pueden|podria|podrian|puedes) llamar|devolverme la llamada)\b"
)

# Advice the shop's articles cannot give ("Which phone should I buy?", "What stocks …?").
ADVICE = (
    r"\b(?:(?:which|what) (?:\w+ ){0,2}should i (?:buy|get|choose|invest in)|should i (?:buy|invest)|"
    r"recommend (?:me )?(?:a|an|some|the best)|invest\w* (?:in|my money))\b"
)

# Tasks beyond a shop's support ("Translate …", "Write me a poem").
TASK = (
    r"\b(?:translate|ubersetze|ubersetzen|traduis|traduire|traduce|traducir|write (?:me )?(?:a|an|my)|poem|essay|"
    r"homework)\b"
)

MATTERS = [
    ("legal", COMPLAINT, LEGAL),
    ("crisis", HUMAN_REQUEST, CRISIS),
    ("safety", HUMAN_REQUEST, SAFETY),
    ("security", HUMAN_REQUEST, SECURITY),
    ("personal_data", HUMAN_REQUEST, PERSONAL_DATA),
    ("payment_dispute", COMPLAINT, PAYMENT_DISPUTE),
    ("abuse", COMPLAINT, ABUSE),
    ("manipulation", UNKNOWN, MANIPULATION),
    ("escalation", HUMAN_REQUEST, ESCALATION),
    ("advice", UNKNOWN, ADVICE),
    ("task", UNKNOWN, TASK),
]
_PATTERNS = [(name, intent, re.compile(pattern)) for name, intent, pattern in MATTERS]


@dataclass(frozen=True)
class Matter:
    """What kind of matter a message is (`legal`, …) and the intent it is handed over as."""

    kind: str
    intent: str


def matter_of(text: str) -> Matter | None:
    """The first matter a person must handle that the message raises, or None."""
    plain = folded(text)
    for name, intent, pattern in _PATTERNS:
        if pattern.search(plain):
            return Matter(name, intent)
    return None
