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
# Words of something wrong with an item: a product's name then only says "an item".
_FAULT = (
    r"\b(?:faulty|broke|broken|died|stopped|quit|defect|work|damaged|cracked|smashed|repair|fix|warranty|guarantee|"
    r"covered|kaputt|defekt|funktioniert|fehlerhaft|garantie|gew[äa]hrleistung|panne|marche|fonctionne|cass[ée]|"
    r"d[ée]fectueu|roto|rompi|funciona|averiad|defectuos|garant[íi]a)"
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
    # "What can I do?" only asks for help: it names nothing to match.
    (r"\b(?:what (?:can|should|do) i do(?: now)?|what now|what are my options)\b", "", EN, None),
    (r"\b(?:was (?:kann|soll) ich (?:jetzt )?tun|was nun|was tun)\b", "", DE, None),
    (r"\b(?:que (?:dois-je|puis-je|faut-il) faire|que faire|quoi faire)\b", "", FR, None),
    (r"\b(?:qu[ée] (?:hago|puedo hacer|debo hacer)(?: ahora)?)\b", "", ES, None),
    # Things the shop sells that the articles do not name are items.
    (r"\b(?:headphones|earphones|earbuds|kettle|blender|toaster|coffee (?:machine|maker)|laptop|tablet|speaker|"
     r"charger|lamp|vacuum(?: cleaner)?|hair ?dryer|camera|console|smartwatch|printer|monitor|keyboard|"
     r"heater|mixer|microwave|radio|tv|television|jacket|dress|shirt|t-shirt|trousers|jeans|"
     r"sweater|jumper|hoodie|backpack|suitcase|toy|gadget|appliance)s?\b", "item", EN,
     _FAULT),
    (r"\b(?:kopfh[öo]rer|wasserkocher|mixer|toaster|kaffeemaschine|laptop|lautsprecher|ladeger[äa]t|lampe|"
     r"staubsauger|f[öo]hn|kamera|uhr|drucker|jacke|kleid|hemd|hose|pullover|rucksack|tasche|"
     r"spielzeug)\b", "Artikel", DE, _FAULT),
    (r"\b(?:casque|bouilloire|mixeur|grille-pain|cafeti[èe]re|ordinateur|enceinte|chargeur|lampe|aspirateur|"
     r"s[èe]che-cheveux|appareil(?: photo)?|montre|imprimante|veste|robe|chemise|pantalon|pull|sac|"
     r"jouet)\b", "article", FR, _FAULT),
    (r"\b(?:auriculares|cascos|hervidor|batidora|tostadora|cafetera|port[áa]til|altavoz|cargador|l[áa]mpara|"
     r"aspiradora|secador|c[áa]mara|reloj|impresora|chaqueta|vestido|camisa|pantal[óo]n|jersey|"
     r"mochila|bolso|juguete)\b", "artículo", ES, _FAULT),
    # A faulty item: the legal guarantee.
    (r"\b(?:stopped|quit|stops|quits|ceased) (?:working|\w{3,12}ing)\b|\b(?:snapped|tore|ripped|came apart|came loose|"
     r"fell off)\b|\b(?:does not|doesn'?t|won'?t|will not|no longer|"
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
     r"crushed|squashed|torn|leaking|in pieces)\b", "arrived damaged", EN, None),
    (r"\b(?:smashed|shattered|crushed|squashed|in pieces)\b", "damaged", EN, None),
    # Reaching the shop.
    (r"\b(?:ring|call|telephone)\b(?= (?:you|us|your \w+|the shop|support|customer service)\b)", "phone", EN, None),
    # The contact section is "How to reach us": a question for the shop's email or phone is asked in
    # its words, or the password article's many emails outrank it.
    (r"\bhotline\b|\bphone line\b", "your phone number to reach us", EN, None),
    (r"\b(?:contact|support|customer service|customer support|kontakt) e-?mail(?: address)?\b|"
     r"\b(?:your|the shop'?s) e-?mail(?: address)?\b|"
     r"\be-?mail (?:address )?(?:of|for) (?:your |the )?(?:support|customer service|shop)\b", "email to reach us", EN,
     None),
    (r"\b(?:press|business|wholesale|partnership) (?:requests?|inquir\w+|enquir\w+|questions?|contact)\b",
     "press and business enquiries", EN, None),
    (r"\b(?:fix|mend)(?:ed)?\b", "repair", EN, None),
    (r"\b(?:get in touch|contact|reach)(?: with)? (?:you|us|the shop|(?:your |the )?(?:customer )?(?:service|support|"
     r"care)(?: team)?)\b", "reach us", EN, None),
    (r"\b(?:send|write) (?:a |you a )?letter\b|\b(?:postal|mailing) address\b", "post address", EN, None),
    (r"\be-?mail (?:can|should|do) (?:i|we) (?:write|send|use)\b|\bwrite to you\b", "support email", EN, None),
    (r"\b(?:anrufen|telefonisch)\b", "Telefon", DE, None),
    (r"\bhotline\b", "Ihre Telefonnummer, so erreichen Sie uns", DE, None),
    (r"\b(?:kontakt|support|kundenservice|kundendienst)[- ]?e-?mail(?:-?adresse)?\b|"
     r"\be-?mail(?:-?adresse)? (?:des|vom|von|ihres) (?:kundenservice|kundendienst|supports?|shops?)\b|"
     r"\bihre e-?mail(?:-?adresse)?\b", "E-Mail, so erreichen Sie uns", DE, None),
    (r"\b(?:erreiche|kontaktiere) ich (?:den |ihren |euren )?(?:kundenservice|kundendienst|support|euch|sie)\b|"
     r"\bkontakt aufnehmen\b", "erreiche ich Sie", DE, None),
    (r"\b(?:vous contacter|contacter (?:le|votre) service client|contacter le support)\b", "vous joindre", FR, None),
    (r"\b(?:(?:adresse )?e-?mail|courriel) (?:du service client|de contact|du support|de la boutique)\b|"
     r"\bvotre (?:adresse )?(?:e-?mail|courriel)\b", "e-mail, comment nous joindre", FR, None),
    (r"\b(?:contactar con ustedes|contactarles|contactarlos|contactar con (?:el|su) servicio(?: de atenci[óo]n)?"
     r"(?: al cliente)?)\b", "contactarnos", ES, None),
    (r"\b(?:appeler|par t[ée]l[ée]phone)\b", "téléphone", FR, None),
    (r"\b(?:un |le |votre )?num[ée]ro de t[ée]l[ée]phone\b|\bhotline\b", "votre téléphone, comment nous joindre", FR,
     r"!\b(?:douane|dhl|transporteur|livreur)"),
    (r"\b(?:arriv[ée]e?s?|re[çc]ue?s?)\W+(?:\w+\W+){0,2}?(?:ab[îi]m[ée]e?s?|cass[ée]e?s?|endommag[ée]e?s?|"
     r"ab[îi]m[ée]e?s?)\b", "arrivé endommagé", FR, None),
    (r"\b(?:llamar(?:les)?|por tel[ée]fono)\b", "teléfono", ES, None),
    (r"\b(?:correo|e-?mail)(?: electr[óo]nico)? (?:de contacto|de soporte|de atenci[óo]n al cliente|del servicio"
     r"(?: de atenci[óo]n)?(?: al cliente)?)\b|\bsu (?:correo|e-?mail)(?: electr[óo]nico)?(?! de confirmaci)",
     "correo, cómo contactarnos", ES, None),
    (r"\b(?:correo|e-?mail)(?: electr[óo]nico)? (?:para|de) (?:la )?prensa\b", "prensa y empresas", ES, None),
    (r"\bl[íi]nea (?:directa|de atenci[óo]n)\b|\bn[úu]mero de tel[ée]fono\b", "su teléfono, cómo contactarnos", ES,
     r"!\b(?:aduana|dhl|transportista)"),
    (r"\b(?:(?:un |el )?n[úu]mero de )?(?:atenci[óo]n telef[óo]nica|tel[ée]fono de (?:contacto|atenci[óo]n))\b|"
     r"\bhotline\b", "su teléfono", ES, None),
    (r"\b(?:weekends?|week-end)\b", "Saturday and Sunday", EN, f"!{_DELIVERY}"),
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
    (r"\b(?:kreditkarte|ec-karte|debitkarte|bankkarte|girokarte)n?\b", "Kredit- und Debitkarten", DE, None),
    (r"\b(?:carte bancaire|carte bleue|carte de cr[ée]dit|carte visa)\b", "carte de crédit", FR, None),
    # "Can I pay by …?", "Do you take …?": which payment methods there are.
    (r"\b(?:can|could|may) (?:i|we) pay\b(?= (?:by|with|using|via|on|in|through)\b)", "can I pay with the payment "
     "methods", EN, None),
    (r"\b(?:do|does) (?:you|the shop) (?:take|accept)\b(?= (?:amex|american|visa|mastercard|paypal|apple|google|klarna|"
     r"cash|cheques?|checks?|sepa|bank|credit|debit|cards?|invoice)\b)", "do you accept payment methods", EN, None),
    (r"\bkann ich (?=(?:mit|per|auf|via|in) )", "Zahlungsarten: kann ich ", DE, r"\bzahl|\bbezahl"),
    (r"\bpuis-je payer\b|\bpeut-on payer\b|\bje peux payer\b", "moyens de paiement : puis-je payer", FR, None),
    (r"\bpuedo pagar\b|\bse puede pagar\b", "métodos de pago: puedo pagar", ES, None),
    (r"\bauf rechnung\b", "auf Rechnung mit 30 Tagen Zahlungsziel", DE, None),
    (r"\bcash\b(?: (?:when|on|at|upon) (?:the |my )?(?:parcel|package|order|delivery|courier|door)(?: (?:arrives|comes|"
     r"is delivered))?)?(?=\W|$)", "cash on delivery", EN, None),
    (r"\b(?:from|with|by) (?:my )?bank account\b", "by SEPA direct debit", EN, None),
    (r"\b(?:rejected|refused|denied|bounced|(?:did not|didn'?t) go through)\b", "declined", EN, None),
    (r"\b(?:money|amount) (?:leave|leaves|taken from|go out of)\b|\b(?:debit|take the money from) my\b", "charged",
     EN, None),
    # Delivering.
    (r"(?<!return )\b(?:postage|delivery (?:fee|charge|cost)s?|shipping (?:fee|charge)s?)\b", "shipping cost", EN,
     r"!\b(?:warrant|repair|guarantee)"),
    (r"\b(?:pay|paying) less (?:postage|shipping|for (?:shipping|delivery))\b|"
     r"\bcheaper (?:shipping|delivery|postage)\b|\bif i (?:spend|order|buy) (?:more|over|above)\b",
     "shipping free from orders of", EN, None),
    (r"\b(?:on )?(?:a )?(?:monday|tuesday|wednesday|thursday|friday)\b", "on a business day", EN, _DELIVERY),
    (r"\b(?:couriers?|delivery (?:companies|company|services?)|shipping (?:companies|company|providers?)|"
     r"parcel services?)\b", "carriers", EN, None),
    (r"\b(?:tomorrow|overnight|next.day)\b", "next business day express", EN, _DELIVERY),
    (r"\b(?:reach|get to) me\b", "be delivered", EN, None),
    (r"\b(?:basket|cart|shopping cart|order) (?:value|total|amount)\b|\bminimum (?:order|spend)\b", "orders", EN,
     None),
    (r"\b(?:sofas?|couch(?:es)?|wardrobes?|mattress(?:es)?|armchairs?|bed frames?|desks?)\b", "furniture", EN, None),
    (r"\bbikes?\b", "bicycle", EN, None),
    (r"\b(?:in|as) (?:two|2|three|3|several|separate|multiple|different) (?:boxes|parcels|packages|deliveries|"
     r"shipments)\b", "split deliveries", EN, r"!\b(?:charg|pay|paid|bill)"),
    # Returning.
    (r"\b(?:send|give|bring|take)\b(?: (?:it|them|this|that|something|an? \w+|my \w+))? back\b", "return", EN, None),
    (r"\b(?:i )?changed? my mind(?: about)?\b", "", EN, None),
    (r"\b(?:swimsuits?|bikinis?|swimming (?:trunks|costume)|bathing suits?)\b", "swimwear", EN, None),
    (r"\b(?:bras?|panties|knickers|boxers|briefs)\b", "underwear", EN, None),
    (r"\b(?:make-?up|lipsticks?|perfumes?|mascara)\b", "cosmetics", EN, None),
    (r"\b(?:different|other|another|bigger|smaller|larger) (?:size|colou?r)\b", "swap", EN, None),
    (r"\bcall off\b", "cancel", EN, None),
    (r"\b(?:delivery note|packing (?:list|note)|dispatch note)\b", "packing slip", EN, None),
    (r"\br[üu]cksendung\b", "zurückschicken", DE, None),
    # Gift cards.
    (r"\b(?:expire[sd]?|expiry|expiration|run out)\b", "valid", EN, None),
    (r"\bhow much (?:money |credit )?(?:is )?(?:left|remaining)\b|\bremaining credit\b", "balance", EN, None),
    (r"\b(?:verf[äa]llt|verfallen|l[äa]uft ab|ablaufen|ablaufdatum)\b", "gültig", DE, None),
    (r"\b(?:expire(?:nt)?|p[ée]rim[ée]e?s?|date d'expiration)\b", "valable", FR, None),
    (r"\b(?:caduca[nr]?|caducidad|vence[nr]?)\b", "válidas", ES, None),
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
