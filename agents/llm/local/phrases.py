"""What the local model says in its own words, in each widget language. Facts always come from
the articles and tool results; these are only the sentences around them."""

from agents.languages import DEFAULT

PHRASES = {
    "en": {
        "not_found": "I'm sorry, I don't know the answer to that from our help articles. "
        "I can connect you with a person from our team if you like.",
        "english_only": "",
        "not_answered": "I couldn't find an answer to {questions} in our help articles.",
        "ask": "I can help with that. Could you tell me the {wanted}?",
        "order_number": "order number",
        "amount": "amount",
        "address": "new shipping address",
        "email": "email address",
        "unknown_order": "I couldn't find an order with the number {number}. Please check the number in your order "
        "confirmation email.",
        "failed": "I couldn't complete that: {error}",
        "processing": "Order {number} is being processed in our warehouse and has not shipped yet.",
        "shipped": "Order {number} has shipped and is on its way to you.",
        "delivered": "Order {number} was delivered.",
        "cancelled": "Order {number} was cancelled, so you were not charged for it.",
        "refunded": "Order {number} was refunded in full.",
        "status": "Order {number} has the status {status}.",
        "placed": "It was placed on {date}.",
        "carrier": "It travels with {carrier}.",
        "partly_refunded": "{amount} of it has already been refunded.",
        "propose_refund": "Order {number} can be refunded up to {amount}. I've asked a colleague to approve a "
        "refund of {amount}.",
        "nothing_to_refund": "There is nothing left to refund on order {number}.",
        "not_changeable": "The address of order {number} can no longer be changed, because it is not waiting in "
        "our warehouse any more.",
        "refund_done": "A refund of {amount} for order {number} is on its way to your original payment method.",
        "address_done": "Order {number} will now be delivered to the new address you gave us.",
        "found": "Here is what I found about order {number}.",
    },
    "de": {
        "not_found": "Das kann ich aus unseren Hilfeartikeln leider nicht beantworten. Gern verbinde ich Sie mit "
        "einer Person aus unserem Team.",
        "english_only": "Diesen Artikel gibt es nur auf Englisch:",
        "not_answered": "Zu {questions} habe ich in unseren Hilfeartikeln keine Antwort gefunden.",
        "ask": "Dabei helfe ich gern. Können Sie mir bitte {wanted} nennen?",
        "order_number": "Ihre Bestellnummer",
        "amount": "den Betrag",
        "address": "die neue Lieferadresse",
        "email": "Ihre E-Mail-Adresse",
        "unknown_order": "Ich konnte keine Bestellung mit der Nummer {number} finden. Bitte prüfen Sie die Nummer in "
        "Ihrer Bestellbestätigung.",
        "failed": "Das hat leider nicht geklappt: {error}",
        "processing": "Ihre Bestellung {number} wird gerade in unserem Lager bearbeitet und ist noch nicht verschickt.",
        "shipped": "Ihre Bestellung {number} ist verschickt und auf dem Weg zu Ihnen.",
        "delivered": "Ihre Bestellung {number} wurde zugestellt.",
        "cancelled": "Ihre Bestellung {number} wurde storniert, daher wurde Ihnen nichts berechnet.",
        "refunded": "Ihre Bestellung {number} wurde vollständig erstattet.",
        "status": "Ihre Bestellung {number} hat den Status {status}.",
        "placed": "Sie wurde am {date} aufgegeben.",
        "carrier": "Sie ist mit {carrier} unterwegs.",
        "partly_refunded": "Davon wurden bereits {amount} erstattet.",
        "propose_refund": "Für die Bestellung {number} können bis zu {amount} erstattet werden. Ich habe eine "
        "Kollegin gebeten, die Erstattung von {amount} freizugeben.",
        "nothing_to_refund": "Für die Bestellung {number} ist nichts mehr zu erstatten.",
        "not_changeable": "Die Adresse der Bestellung {number} kann nicht mehr geändert werden, weil sie nicht mehr "
        "in unserem Lager wartet.",
        "refund_done": "Die Erstattung von {amount} für die Bestellung {number} ist auf dem Weg zu Ihrer Zahlungsart.",
        "address_done": "Die Bestellung {number} wird jetzt an die neue Adresse geliefert, die Sie uns genannt haben.",
        "found": "Das habe ich zu Ihrer Bestellung {number} gefunden.",
    },
    "fr": {
        "not_found": "Je suis désolé, je ne trouve pas la réponse dans nos articles d'aide. Je peux vous mettre en "
        "relation avec une personne de notre équipe si vous le souhaitez.",
        "english_only": "Cet article n'existe qu'en anglais :",
        "not_answered": "Je n'ai pas trouvé de réponse à {questions} dans nos articles d'aide.",
        "ask": "Je peux vous aider. Pouvez-vous m'indiquer {wanted} ?",
        "order_number": "votre numéro de commande",
        "amount": "le montant",
        "address": "la nouvelle adresse de livraison",
        "email": "votre adresse e-mail",
        "unknown_order": "Je n'ai trouvé aucune commande avec le numéro {number}. Vérifiez le numéro dans l'e-mail "
        "de confirmation de votre commande.",
        "failed": "Je n'ai pas pu le faire : {error}",
        "processing": "Votre commande {number} est en cours de préparation dans notre entrepôt et n'est pas encore "
        "expédiée.",
        "shipped": "Votre commande {number} est expédiée et en route vers vous.",
        "delivered": "Votre commande {number} a été livrée.",
        "cancelled": "Votre commande {number} a été annulée, vous n'avez donc pas été débité.",
        "refunded": "Votre commande {number} a été entièrement remboursée.",
        "status": "Votre commande {number} a le statut {status}.",
        "placed": "Elle a été passée le {date}.",
        "carrier": "Elle voyage avec {carrier}.",
        "partly_refunded": "{amount} ont déjà été remboursés.",
        "propose_refund": "La commande {number} peut être remboursée jusqu'à {amount}. J'ai demandé à un collègue "
        "d'approuver un remboursement de {amount}.",
        "nothing_to_refund": "Il ne reste rien à rembourser sur la commande {number}.",
        "not_changeable": "L'adresse de la commande {number} ne peut plus être modifiée, car elle n'attend plus "
        "dans notre entrepôt.",
        "refund_done": "Le remboursement de {amount} pour la commande {number} est en route vers votre moyen de "
        "paiement.",
        "address_done": "La commande {number} sera livrée à la nouvelle adresse que vous nous avez donnée.",
        "found": "Voici ce que j'ai trouvé sur votre commande {number}.",
    },
    "es": {
        "not_found": "Lo siento, no encuentro la respuesta en nuestros artículos de ayuda. Si quiere, le pongo en "
        "contacto con una persona de nuestro equipo.",
        "english_only": "Este artículo solo existe en inglés:",
        "not_answered": "No he encontrado respuesta a {questions} en nuestros artículos de ayuda.",
        "ask": "Con gusto le ayudo. ¿Podría indicarme {wanted}?",
        "order_number": "su número de pedido",
        "amount": "el importe",
        "address": "la nueva dirección de envío",
        "email": "su correo electrónico",
        "unknown_order": "No he encontrado ningún pedido con el número {number}. Por favor, compruebe el número en "
        "el correo de confirmación de su pedido.",
        "failed": "No he podido hacerlo: {error}",
        "processing": "Su pedido {number} se está preparando en nuestro almacén y todavía no se ha enviado.",
        "shipped": "Su pedido {number} ya se ha enviado y está en camino.",
        "delivered": "Su pedido {number} ya se ha entregado.",
        "cancelled": "Su pedido {number} se canceló, así que no se le ha cobrado nada.",
        "refunded": "Su pedido {number} se ha reembolsado por completo.",
        "status": "Su pedido {number} tiene el estado {status}.",
        "placed": "Se realizó el {date}.",
        "carrier": "Viaja con {carrier}.",
        "partly_refunded": "Ya se han reembolsado {amount}.",
        "propose_refund": "El pedido {number} se puede reembolsar hasta {amount}. He pedido a un compañero que "
        "apruebe un reembolso de {amount}.",
        "nothing_to_refund": "No queda nada por reembolsar en el pedido {number}.",
        "not_changeable": "La dirección del pedido {number} ya no se puede cambiar, porque ya no está esperando en "
        "nuestro almacén.",
        "refund_done": "El reembolso de {amount} del pedido {number} está en camino a su método de pago.",
        "address_done": "El pedido {number} se entregará ahora en la nueva dirección que nos indicó.",
        "found": "Esto es lo que he encontrado sobre su pedido {number}.",
    },
}


def say(key: str, language: str, **values) -> str:
    template = PHRASES.get(language, PHRASES[DEFAULT]).get(key) or PHRASES[DEFAULT][key]
    return template.format(**values)


def money(amount, currency: str, language: str) -> str:
    """19.9 EUR → "€19.90" in English, "19,90 €" in the other languages."""
    value = f"{float(amount):.2f}"
    symbol = "€" if currency.upper() == "EUR" else currency
    if language == DEFAULT:
        return f"{symbol}{value}" if symbol == "€" else f"{value} {symbol}"
    return f"{value.replace('.', ',')} {symbol}"
