"""The words customers use for what help articles name otherwise, in English, German, French and
Spanish: "my kettle quit working" is a faulty item, "pay later" is Klarna, "ring you" is the phone
number. A question is searched and answered in the articles' words, since neither full-text
search nor the static word embeddings relate "quit working" to "faulty".

Each entry rewrites a customer's phrase to the articles' words, unless the message is about
something the phrase means differently there ("the reset link doesn't work" is no faulty item).
Every pattern is bounded, so rewriting is linear in the message.
"""

import functools
import re

_NOT_AN_ITEM = (
    r"!\b(?:link|code|password|passwort|mot de passe|contrase[nñ]a|login|site|website|app|page|card|karte|carte|"
    r"tarjeta|coupon|voucher|pay|payment|checkout|zahlung|paiement|pago)"
)
_MAKER = (
    r"!\b(?:manufacturer|brand|claim|repair|longer|extra|additional|extended|hersteller|marke|garantiefall|repar|"
    r"fabricant|marque|commerciale|demande|fabricante|marca|reclamaci|\d)"
)
_DELIVERY = r"\b(?:get|receive|deliver\w*|arrive|order\w*|parcel|package|ship\w*|send|dispatch\w*)\b"
EN, DE, FR, ES = "en", "de", "fr", "es"


def _condition(pattern: str | None):
    if pattern is None:
        return None
    found = re.compile(pattern.removeprefix("!"), re.I).search
    return (lambda text: not found(text)) if pattern.startswith("!") else found


# (customer's phrase, the articles' words, the language it is in or None, and a condition on the
# whole message: a pattern it must match, or with "!" one it must not)
WORDING = [
    # A faulty item: the legal guarantee.
    (r"\b(?:stopped|quit|stops|quits|ceased) working\b|\b(?:does not|doesn'?t|won'?t|will not|no longer|"
     r"isn'?t) (?:work|working|turn on|switch on|charge|charging)\b(?: any ?more)?|\bbroke down\b|\bfell apart\b|"
     r"\bdied\b|\bdefective\b|\bmalfunction\w*|\bbroke (?=after|within|when|while|in|on)", "became faulty", EN,
     _NOT_AN_ITEM),
    (r"\b(?:funktioniert|geht|lauft|läuft) nicht mehr\b|\bkaputt(?:gegangen)?\b|\bdefekt\b", "ist fehlerhaft", DE,
     _NOT_AN_ITEM),
    (r"\b(?:ne (?:marche|fonctionne) plus|en panne|est cass[ée]e?|s'est cass[ée]e?)\b", "est défectueux", FR,
     _NOT_AN_ITEM),
    (r"\b(?:dej[óo] de funcionar|ya no funciona|no funciona|se rompi[óo]|est[áa] rot[oa]|averiad[oa])\b",
     "es defectuoso", ES, _NOT_AN_ITEM),
    # "Is there a warranty?": the legal guarantee every item has, not a brand's own.
    (r"\b(?:warranty|guarantee)\b", "legal guarantee", EN, _MAKER),
    (r"\bgarantie\b", "gesetzliche Gewährleistung", DE, _MAKER),
    (r"\bgarantie\b(?! l[ée]gale)", "garantie légale", FR, _MAKER),
    (r"\bgarant[íi]a\b(?! legal)", "garantía legal", ES, _MAKER),
    # Damaged on arrival: the return policy's damaged items.
    (r"\b(?:arrived|came|come|turned up)\W+(?:\w+\W+){0,2}?(?:broken|smashed|shattered|cracked|dented|scratched|"
     r"in pieces)\b", "arrived damaged", EN, None),
    (r"\b(?:smashed|shattered|in pieces)\b", "damaged", EN, None),
    # Reaching the shop.
    (r"\b(?:ring|call|telephone)\b(?= (?:you|us|your \w+|the shop|support|customer service)\b)", "phone", EN, None),
    (r"\bhotline\b", "phone number", EN, None),
    (r"\b(?:get in touch|contact|reach)(?: with)? (?:you|us|the shop|(?:your |the )?(?:customer )?(?:service|support|"
     r"care)(?: team)?)\b", "reach us", EN, None),
    (r"\b(?:send|write) (?:a |you a )?letter\b|\b(?:postal|mailing) address\b", "post address", EN, None),
    (r"\be-?mail (?:can|should|do) (?:i|we) (?:write|send|use)\b|\bwrite to you\b", "support email", EN, None),
    (r"\b(?:anrufen|telefonisch|hotline)\b", "Telefon", DE, None),
    (r"\b(?:appeler|par t[ée]l[ée]phone)\b", "téléphone", FR, None),
    (r"\b(?:llamar(?:les)?|por tel[ée]fono)\b", "teléfono", ES, None),
    (r"\b(?:weekends?|week-end)\b", "Saturday Sunday", EN, f"!{_DELIVERY}"),
    (r"\b(?:on )?(?:weekdays?|working days)\b", "Monday to Friday", EN, f"!{_DELIVERY}"),
    # Paying.
    (r"\b(?:buy now,? pay later|pay (?:it )?later|pay (?:in|by|with) (?:monthly )?install?ments|split (?:the |my )?"
     r"payments?|pay in (?:parts|several \w+)|monthly payments|financ\w+)\b", "pay in 3 interest-free instalments "
     "with Klarna", EN, None),
    (r"\binstallments?\b", "instalments", EN, None),
    (r"\b(?:auf raten|ratenzahlung|in raten|sp[äa]ter (?:be)?zahlen)\b", "in 3 zinsfreien Raten mit Klarna", DE, None),
    (r"\b(?:en plusieurs fois|paiement fractionn[ée]|en mensualit[ée]s|payer plus tard)\b",
     "en 3 fois sans frais avec Klarna", FR, None),
    (r"\b(?:a plazos|en cuotas|pagar (?:m[áa]s tarde|despu[ée]s))\b", "en 3 plazos sin intereses con Klarna", ES, None),
    (r"\bamex\b", "American Express card", None, None),
    (r"\bcash\b(?: (?:when|on|at|upon) (?:the |my )?(?:parcel|package|order|delivery|courier|door)(?: (?:arrives|comes|"
     r"is delivered))?)?(?=\W|$)", "cash on delivery", EN, None),
    (r"\b(?:from|with|by) (?:my )?bank account\b", "by SEPA direct debit", EN, None),
    (r"\b(?:rejected|refused|denied|bounced|(?:did not|didn'?t) go through)\b", "declined", EN, None),
    (r"\b(?:money|amount) (?:leave|leaves|taken from|go out of)\b|\b(?:debit|take the money from) my\b", "charged",
     EN, None),
    # Delivering.
    (r"(?<!return )\b(?:postage|delivery (?:fee|charge|cost)s?|shipping (?:fee|charge)s?)\b(?= (?:to|in|within|back))",
     "shipping cost", EN, None),
    (r"\b(?:tomorrow|overnight|next.day)\b", "next business day express", EN, _DELIVERY),
    (r"\b(?:reach|get to) me\b", "be delivered", EN, None),
    (r"\b(?:basket|cart|shopping cart|order) (?:value|total|amount)\b|\bminimum (?:order|spend)\b", "orders", EN,
     None),
    (r"\b(?:sofas?|couch(?:es)?|wardrobes?|mattress(?:es)?|armchairs?|bed frames?|desks?)\b", "furniture", EN, None),
    (r"\bbikes?\b", "bicycle", EN, None),
    # Returning.
    (r"\b(?:send|give|bring|take)\b(?: (?:it|them|this|that|something|an? \w+|my \w+))? back\b", "return", EN, None),
    (r"\bchanged? my mind\b", "want to return", EN, None),
    (r"\b(?:swimsuits?|bikinis?|swimming (?:trunks|costume)|bathing suits?)\b", "swimwear", EN, None),
    (r"\b(?:bras?|panties|knickers|boxers|briefs)\b", "underwear", EN, None),
    (r"\b(?:make-?up|lipsticks?|perfumes?|mascara)\b", "cosmetics", EN, None),
    (r"\b(?:different|other|another|bigger|smaller|larger) (?:size|colou?r)\b", "swap", EN, None),
    (r"\bcall off\b", "cancel", EN, None),
    # Signing in.
    (r"\blocked out\b", "locked", EN, None),
]  # fmt: skip
_WORDING = [
    (re.compile(phrase, re.I), words, language, _condition(condition)) for phrase, words, language, condition in WORDING
]


@functools.lru_cache(maxsize=4096)
def in_article_words(text: str, language: str) -> str:
    """The message, written in `language`, with customers' phrases put in the articles' words."""
    for phrase, words, written_in, condition in _WORDING:
        if written_in in (None, language) and (condition is None or condition(text)):
            text = phrase.sub(words, text)
    return text
