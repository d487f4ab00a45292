"""Matters the AI must not handle, whatever the help articles say about them: a legal threat, a
complaint said in so many words (or a claim for compensation), a hacked account, a request about
the customer's personal data, a disputed or fraudulent payment, someone's health or safety, a
customer in crisis, abuse, an attempt to make the AI drop its rules, and a request to escalate or
to be called back. Each goes to a person.

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
    r"small claims|consumer (?:protection|rights (?:agency|office)|association|organi[sz]ation)|ombudsman|"
    r"trading standards|better business bureau|police|"
    r"report(?:ed|ing)? (?:you|your \w+)\b|report(?:ed|ing)? (?:this|it) to\b|"
    r"anwalt|anwaltin|rechtsanwalt\w*|verklag\w*|gericht\w*|rechtliche schritte|verbraucherzentrale|"
    r"legal (?:consequences|action)|rechtliche (?:konsequenzen|folgen)|juristisch\w*|consequences juridiques|"
    r"consecuencias legales|acciones legales|via judicial|tribunales|"
    r"devant (?:la justice|les tribunaux)|a la justice|"
    r"verbraucherschutz\w*|schlichtungsstelle|polizei|anzeige erstatt\w*|erstatte\w* anzeige|anzeige gegen|"
    r"zeige (?:sie|euch) an|"
    r"avocat\w*|porter plainte|plainte contre|tribunal|poursuites?|en justice|associations? de (?:defense des )?"
    r"consommateurs|dgccrf|mediateur de la consommation|la police|gendarmerie|"
    r"abogad\w*|demandar\w*|denunci\w*|juicio|oficina del consumidor|ocu|facua|consumo|defensa del consumidor|"
    r"asociacion de consumidores|policia)\b"
)
SECURITY = (
    r"\b(?:hack(?:ed|er|ers)?|compromised|account (?:was |got |has been )?(?:stolen|taken over)|"
    r"(?:parcel|package|delivery|order|paket|lieferung|colis|commande|paquete|pedido)\b\W+(?:\w+\W+){0,3}?"
    r"(?:stolen|gestohlen|volee?|robad[oa])|stole (?:my|the|our) (?:parcel|package|delivery|order)|"
    r"phishing|fake (?:email|e-mail|sms|text|message|website|site)|pretending to be (?:you|demo shop)|"
    r"betrugs?-?(?:mail|e-mail)|gefalscht\w* (?:e-?mail|nachricht|seite)|hameconnage|faux (?:e-?mail|message|site)|"
    r"(?:correo|mensaje|web) fals[oa]|suplantacion|"
    rf"(?:someone|somebody|stranger)\b\W+{W}(?:logged|signed|got|broke)\W+(?:in|into)\b|"
    rf"(?:someone|somebody|a stranger)\b\W+{W}(?:changed|reset|used|accessed|got into)\b|it (?:was not|wasn'?t) me\b|"
    r"(?:orders?|purchases?|charges?|something|things|items?) (?:\w+ ){0,2}?(?:that )?i (?:did not|didn'?t|never) "
    r"(?:make|made|place|placed|order|ordered|buy|bought)|"
    r"(?:address|order|orders|device|login|payment|purchase)\b\W+(?:\w+\W+){0,2}?i (?:don'?t|do not) "
    r"(?:know|recogni[sz]e)|"
    r"(?:account|konto|kundenkonto|compte|cuenta|password|passwort|mot de passe|"
    r"contrasena)\b\W+(?:\w+\W+){0,6}?(?:(?:someone|somebody) else|jemand (?:anders|anderes|fremdes)|"
    r"quelqu'?un d'autre|otra persona|alguien mas)|(?:(?:someone|somebody) else|jemand (?:anders|anderes|fremdes)|"
    r"quelqu'?un d'autre|otra persona|alguien mas)\b\W+(?:\w+\W+){0,6}?(?:account|konto|kundenkonto|compte|cuenta|"
    r"password|passwort|mot de passe|contrasena)|"
    r"(?:login|sign-in|security) alert|unknown (?:login|device|location)|unusual (?:activity|login|sign-in)|"
    r"(?:passwort|password|mot de passe|contrasena)\b\W+(?:\w+\W+){0,3}?(?:nicht geandert|not changed|"
    r"pas (?:change|modifie)|no (?:he )?cambiado)|i (?:didn'?t|did not|never) change (?:it|my password|the password)|"
    r"suspicious|verdachtig\w*|(?:paiement|prelevement|transaction|connexion|activite) suspect\w*|sospechos\w*|"
    r"(?:orders?|purchases?|charges?) i (?:do not|don'?t) recogni[sz]e|(?:aren'?t|are not|weren'?t) my orders|"
    r"(?:aren'?t|are not|weren'?t|were not|is not|isn'?t) mine|"
    rf"(?:someone|somebody|jemand|quelqu'?un|alguien)\b\W+{W5}(?:is using|using|used|benutzt|verwendet|utilise|"
    r"utilisait|usando|usado|utilizado|utilizando|accessed|entered|eingeloggt|angemeldet|zugegriffen|connecte|"
    r"entrado|accedido|entro)\b|"
    r"without (?:my |any )?(?:knowledge|permission|consent|authori[sz]ation)|"
    r"ohne mein\w* (?:wissen|zustimmung|erlaubnis)|"
    rf"(?:someone|somebody|jemand|quelqu'?un|alguien)\b\W+{W5}(?:placed|ordered|bought|bestellt|gekauft|eingekauft|"
    r"commande|"
    r"achete|pedido|comprado|compro)\b|"
    rf"(?:e-?mail|password|passwort|mot de passe|contrasena|correo)\b\W+{W}(?:was|has been|got|were|wurde|a ete|fue|"
    r"ha sido) (?:changed|geandert|modifie|cambiad\w*)|"
    r"sans (?:mon|ma) (?:accord|autorisation|permission|consentement)|"
    r"sin mi (?:permiso|autorizacion|consentimiento|conocimiento)|"
    r"(?:changed|geandert|modifie|cambiad\w*)\W+(?:\w+\W+){0,8}?(?:i didn'?t|i did not|i never|not me)\b|"
    rf"gehackt|\w*konto\W+{W}ubernommen|nicht von mir|pirate|piratage|ne sont pas (?:mes|de moi)|hackead\w*|"
    r"(?:robado|robaron) (?:la|mi) cuenta|no son mios|no son mias|pas moi)\b"
)
PERSONAL_DATA = (
    r"\b(?:gdpr|dsgvo|rgpd|data protection|datenschutz|datenverarbeitung|einwilligung|withdraw (?:my )?consent|"
    r"(?:retire|retirer) mon consentement|retirar (?:mi )?consentimiento|tratamiento de (?:mis )?datos|"
    r"traitement de (?:mes )?donnees|"
    rf"(?:delete|erase|remove|wipe|forget)\b\W+{W}(?:my|all)\b\W+{W}(?:data|information|details|account|"
    r"e-?mail|records?|everything)|"
    r"(?:copy|access|all|export)\b\W+(?:\w+\W+){0,4}?data (?:you|that you) (?:hold|have|store|keep)|"
    r"data (?:you|that you) (?:hold|have|store|keep)|everything you (?:store|hold|have|keep) about me|"
    r"(?:data|information) (?:\w+ ){0,2}?(?:about|on) me\b|personal (?:data|information)|"
    r"(?:know|hold|have|store|keep|collect\w*) (?:about|on) me\b|"
    r"(?:remove|delete|erase|take)\b\W+(?:\w+\W+){0,5}?(?:from|off) (?:your|the) (?:records|database|system|systems|"
    r"files|list|mailing list)|"
    r"(?:close|cancel|deactivate|terminate|delete|remove)\b\W+(?:my|the) (?:\w+ )?(?:account|profile)|"
    r"(?:copy|export|download|access|send)\b\W+(?:\w+\W+){0,4}?my (?:personal )?(?:data|information)|"
    r"(?:be|being) forgotten|vergessen werden|"
    r"(?:account|data|details|information)\b\W+(?:\w+\W+){0,2}?(?:deleted|erased|removed|closed)|"
    r"(?:remove|delete|erase|take) me (?:off|from)\b|"
    rf"(?:losch\w*|entfern\w*)\b\W+{W5}\w*(?:daten|konto|account)|\w*(?:daten|konto)\b\W+{W5}(?:losch\w*|entfern\w*)|"
    rf"\w*konto\b\W+{W}(?:schliess\w*|kundig\w*|deaktivier\w*|auflos\w*)|"
    rf"(?:schliess\w*|kundig\w*|deaktivier\w*|auflos\w*)\b\W+{W}\w*konto|"
    r"(?:welche|alle) (?:\w+ )?(?:daten|informationen)\b\W+(?:\w+\W+){0,4}?(?:gespeichert|speichern|haben sie)|"
    r"auskunft\b\W+(?:\w+\W+){0,5}?\w*daten|personenbezogen\w*|personliche\w* daten|"
    r"recht auf (?:vergessen|loschung|auskunft)|"
    rf"(?:supprim\w*|effac\w*|retir\w*|suppression|effacement)\b\W+{W5}(?:donnees|compte)|"
    rf"(?:ferm\w*|clotur\w*|desactiv\w*)\b\W+{W}compte|donnees personnelles|"
    r"(?:quelles|toutes les) (?:\w+ )?(?:donnees|informations)\b\W+(?:\w+\W+){0,4}?(?:avez|conservez|stockez|detenez)|"
    r"droit (?:d'acces|a l'oubli|a l'effacement|de suppression)|"
    rf"(?:borr\w*|elimin\w*|suprim\w*|supresion)\b\W+{W5}(?:datos|cuenta)|"
    rf"(?:cerrar|cierren|cancelar|dar de baja|darme de baja|desactivar)\b\W+{W}cuenta|darme de baja|datos personales|"
    r"que datos\b\W+(?:\w+\W+){0,4}?(?:tienen|guardan|almacenan)|derecho (?:de|al) (?:acceso|supresion|olvido))\b"
)
PAYMENT_DISPUTE = (
    r"\b(?:charge ?backs?|disput\w*|fraud\w*|unauthori[sz]ed|stolen card|someone (?:is )?using my card|"
    r"(?:bank|banque|banco)\b\W+(?:\w+\W+){0,5}?(?:cancel\w*|reverse|revers\w*|stop|block\w*|storn\w*|"
    r"zuruck(?:buch|hol)\w*|annul\w*|bloqu\w*|cancelar|anular|devolver)|"
    r"(?:cancel\w*|reverse|stop|block|storn\w*|annul\w*|bloqu\w*|cancelar|anular)\b\W+(?:\w+\W+){0,5}?"
    r"(?:bank|banque|banco)|"
    r"(?:cargo|cobro|pago|compra)s? que no (?:hice|he hecho|realice|autorice|reconozco)|"
    r"(?:abbuchung|zahlung|kauf|bestellung)\w*\W+(?:\w+\W+){0,2}?die ich nicht (?:gemacht|getatigt|veranlasst|"
    r"bestellt)|(?:paiement|prelevement|achat|commande)s? que je n'?ai (?:pas|jamais) (?:fait|effectue|autorise|"
    r"passee?)|"
    r"somebody (?:is )?using my card|identity theft|(?:open|opened|opening|file|filed|filing|raise|start)\w* (?:a )?"
    r"(?:case|claim|dispute) (?:with|at|through) (?:my |the )?(?:bank|card|credit card|paypal|card issuer)|"
    r"contest\w* (?:ce|le|cette|la) (?:prelevement|paiement|debit|transaction)|revers\w* (?:the |this |my |"
    r"that )?(?:charge|payment|transaction)|"
    r"(?:never|not|didn'?t|did not) authori[sz]\w*|"
    r"(?:don'?t|do not|can'?t|cannot) recogni[sz]e (?:this|the|a|that|these) (?:payment|charge|transaction|debit)|"
    rf"(?:card|karte|carte|tarjeta)\b\W+{W}(?:stolen|gestohlen|volee|robada)|"
    rf"(?:someone|somebody|jemand|quelqu'?un|alguien)\b\W+{W}(?:using|used|benutzt|verwendet|utilise|usado|"
    r"usando|utilizado)\W+(?:\w+\W+){0,2}?(?:card|karte|kreditkarte|carte|tarjeta)|"
    r"ruckbuchung|zuruckbuch\w*|zuruckgebucht|lastschrift\W+(?:\w+\W+){0,3}?(?:zuruck(?:buch|geb|geh|hol)\w*|"
    r"widerruf\w*)|"
    r"nicht autorisiert|nicht genehmigt|erkenne (?:diese|die) (?:zahlung|abbuchung|buchung) nicht|"
    r"betrug\w*|gestohlen\w*|fraude\w*|frauduleu\w*|vol de carte|usurpation|opposition|pas autorise\w*|"
    r"ne reconnais pas (?:ce|cette) (?:paiement|prelevement|debit|transaction)|"
    r"contracargo|no reconozco (?:este|el|esta|ese) (?:cargo|pago|cobro)|no autorice|sin autoriz\w*|"
    r"(?:reclamar|disputar|impugnar|contestar|anular) (?:el|este|ese) (?:cargo|cobro|pago))\b"
)
SAFETY = (
    r"\b(?:caught fire|on fire|fire hazard|smoking|smoked|smoke came|overheat\w*|explod\w*|exploded|burn(?:ed|t|s)? "
    r"(?:my|me|him|her|his|our|the child|the baby)|injur\w*|hurt|electric shock|electrocut\w*|allergic|poison\w*|"
    r"hospital|ambulance|choking|spark\w*|melted|hazard\w*|"
    # Said of a thing ("The product is dangerous"), not asked ("Is it dangerous to …?").
    r"(?:it|this|that|the|es|das|der|die|ce|cette|c'|le|la|esto|el)(?: \w+)? (?:is|ist|est|es) (?:\w+ )?(?:dangerous|"
    r"unsafe|"
    r"gefahrlich|dangereu\w*|peligros\w*)|"
    r"mou?ld|moldy|mouldy|schimmel\w*|moisi\w*|moho|(?:exposed|bare) wires?|frayed (?:cable|wire)|"
    r"smell\w* (?:of )?burn\w*|burning smell|riecht verbrannt|"
    r"odeur de brule|(?:olor|huele) a quemado|rash|ausschlag|hautausschlag|eczema|sarpullido|urticaria|"
    r"(?:i|he|she|they|we) fell\b|fell (?:off|down)|gesturzt|hingefallen|(?:suis|est) tombee?\b(?! en panne)|me cai|"
    r"se cayo|"
    r"brakes? failed|burst|explos\w*|explot\w*|leaks? electricity|tingl\w*|jolt|"
    r"(?:got|gets|getting|became|becomes) (?:really |very |extremely |so )?hot|vet|veterinar\w*|tierarzt|"
    r"swallow\w*|verschluckt|avale|trago|ate (?:part|a piece|some) of|(?:gave|got|get|getting) (?:me |him |her |us |"
    r"them )?(?:an? )?"
    r"(?:electric )?shock\w*|cut (?:himself|herself|myself|themselves|his|her|my)|sharp edges?|"
    r"(?:battery|akku|batterie|bateria)\b\W+(?:\w+\W+){0,4}?(?:swell\w*|swollen|bulg\w*|hiss\w*|leak\w*|"
    r"aufgeblah\w*|ausgelaufen|gonfl\w*|fuit\w*|hinch\w*)|"
    r"verletz\w*|verbrannt|gebrannt|feuer|rauch\w*|stromschlag|schlag bekommen|uberhitzt|krankenhaus|vergift\w*|"
    r"geschmolzen|funken|geschnitten|"
    r"blesse\w*|brule\w*|incendie|feu|fumee|decharge electrique|hopital|intoxi\w*|fondu|etincel\w*|"
    r"(?:s'est|me suis) coupe\w*|"
    r"herid\w*|quemad\w*|quemo|incendio|fuego|humo|descarga electrica|hospital|intoxic\w*|derretid\w*|chispa\w*|"
    r"(?:hizo|hecho|hace|hacerse) dano|lastim\w*|se corto|me corte)\b"
)
CRISIS = (
    r"\b(?:kill myself|killing myself|end(?:ing)? (?:it all|my life)|suicid\w*|self.?harm|hurt myself|"
    r"(?:do not|don'?t) want to (?:live|be alive)|want to die|no reason to live|point in living|better off dead|"
    r"want to end it\b|veux mourir|keinen sinn mehr|no point in life|plus de sens a (?:ma )?vie|"
    r"mich umbringen|nicht mehr leben|selbstmord|suizid\w*|(?:mir|mich) (?:etwas|was) an(?:zu)?tun|"
    r"me suicider|envie de mourir|plus envie de vivre|mettre fin a mes jours|en finir avec la vie|"
    r"quitarme la vida|no quiero vivir|quiero morir(?:me)?|suicidarme|seguir viviendo|acabar con mi vida)\b"
)
ABUSE = (
    r"\b(?:idiots?|stupid|moron\w*|dumb|shut up|f\*+k?|f\W?u\W?c\W?k\w*|fck\w*|shit\w*|crap|garbage|bastard\w*|"
    r"screw you|damn you|piece of (?:junk|garbage|shit|crap)|piss off|go to hell|worthless|thieves|crooks|clowns|"
    r"diebe|betruger|das letzte|voleurs|escrocs|ladrones|estafadores|"
    r"(?:t'es|tu es|vous etes|espece de) (?:\w+ )?(?:con|cons|conne|debile)\b|"
    r"maul|dumme[rs]? (?:bot|maschine)|ferme[- ]la|sale (?:robot|bot|machine)|inutil\w*|"
    r"arschloch|idiot\w*|scheiss\w*|vollidiot\w*|halt die klappe|depp\w*|verpiss|leck mich|wichser|"
    r"connard\w*|putain|merde|ta gueule|cretin\w*|abruti\w*|allez vous faire|va te faire|encule\w*|salaud\w*|"
    r"idiota\w*|imbecil\w*|mierda|callate|gilipollas|estupid\w*|cabron\w*|joder|inutiles de)"
)
MANIPULATION = (
    r"\b(?:pretend (?:you|to be|that)|act as (?:if|the|my|an? (?:admin|developer|ai|assistant|bot|different|"
    r"unrestricted))|roleplay|role-play|you are now|from now on,? you|"
    r"without (?:any )?(?:restrictions|filters|limits|rules)|(?:repeat|print|show|reveal) (?:the|your)\b\W+"
    r"(?:\w+\W+){0,4}?(?:above|instructions|prompt|rules)|(?:system|initial|hidden|secret) (?:prompt|instructions)|"
    r"developer (?:mode|message)|new instructions|jailbreak|admin(?:istrator)? password|"
    r"disregard (?:your|the|all)|act like (?:the|an?) (?:admin\w*|developer|manager|owner)|you are no longer|"
    r"ignore (?:your|all|the) (?:rules|instructions|programming)|ignoriere (?:deine|alle|die)|"
    r"i(?:'m| am) (?:an? |the )?(?:employee|staff member|admin\w*|store manager|shop owner|owner of the shop|developer|"
    r"ceo|founder|director|"
    r"your (?:boss|manager|developer|colleague))|"
    r"tu so als|so tun als|du bist jetzt|ab jetzt bist du|fais comme si|tu es maintenant|fais semblant|"
    r"haz como si|finge (?:que|ser)|ahora eres)\b"
)
ESCALATION = (
    r"\b(?:escalat\w*|(?:your|a|the) (?:manager|boss|supervisor|superior)|"
    # The AI's answers did not help: a person should try.
    r"(?:that|this|it|your answers?|you) (?:\w+ )?(?:didn'?t|did not|doesn'?t|does not|don'?t|do not) (?:help|"
    r"answer my question|understand)|not (?:helpful|helping)|you(?:'re| are) not (?:helping|understanding)|"
    r"(?:hilft|hilfst|bringt) (?:mir )?(?:nicht|nichts)|versteh\w* mich nicht|ne m'aide pas|ne me sert a rien|"
    r"(?:vous ne|tu ne) (?:me )?comprenez pas|no me (?:ayuda|sirve)|no (?:me )?entiende\w*|"
    r"(?:whoever|someone|somebody|anyone|person)\W+(?:\w+\W+){0,2}?in charge|"
    r"(?:someone|somebody|a person|your team|an agent|a human|(?:a )?(?:member of staff|staff member|colleague|"
    r"employee|representative|manager))\W+(?:\w+\W+){0,3}?(?:contact|call|email|write to|get back to|reach) me|"
    r"(?:mitarbeiter\w*|jemand\w*|kolleg\w*|berater\w*|person)\b\W+(?:\w+\W+){0,4}?(?:kontaktier\w*|anruf\w*|"
    r"zuruckruf\w*|melde\w*)|mich\W+(?:\w+\W+){0,3}?(?:kontaktieren|anrufen|zuruckrufen)|"
    r"kontakt (?:durch|mit) (?:einem|einer|einen|eine) (?:mitarbeiter\w*|person|menschen)|(?:zuruckgerufen|"
    r"angerufen) werden|"
    r"qu'on me (?:contacte|rappelle|telephone)|(?:qu'un|qu'une) (?:\w+ )?(?:me contacte|m'appelle|me rappelle)|"
    r"que me (?:contacten|contacte|llamen|llame|llamaran|llamara)|contactarme|call me back|ring me back|call ?-?backs?|"
    r"(?:can|could|would|please|pls|plz)\W+(?:(?:you|someone|somebody|anyone|one of you|a person|your team)\W+)?"
    r"(?:please\W+)?(?:phone|call|ring|telephone) me\b|(?:phone|call|ring) me (?:pls|please|plz|asap|today|tomorrow)\b|"
    r"(?:phone )?call from (?:you|your|one of your|someone|somebody|a person|the team)|human being|encargad\w*|gerente|"
    r"(?:isn'?t|is not|not) a (?:computer|bot|robot|machine)|(?:speak|talk) to (?:someone|somebody)|"
    r"vorgesetzt\w*|chef|eskalier\w*|ruckruf\w*|zuruckruf\w*|rufen sie mich (?:zuruck|an)|teamleit\w*|"
    r"(?:ruf|ruft|rufen sie) mich (?:\w+\W+){0,6}?an\b|mich (?:\w+ ){0,3}?(?:zuruck)?anrufen|anruf von (?:ihnen|einem|"
    r"einer)|"
    r"responsable|superieur|rappelez-moi|me rappeler|rappele\w*|appelez-moi|m'appeler|me telephoner|"
    r"escalad\w*|supervisor|jefe|llamenme|devuelvan la llamada|devolver(?:me)? la llamada|llamadme|me llamen|"
    r"(?:prefer|want|like|need|request) (?:a )?(?:phone )?call\b|"
    r"llamarme|llameme|me (?:puede|pueden|podria|podrian|puedes) llamar|devolverme la llamada)\b"
)

# A complaint said in so many words, a claim for compensation, a threat to go public, "never again":
# a person's to answer, however politely put. (Not the German "Reklamation" or "a warranty claim":
# those are claims the articles explain.)
GRIEVANCE = (
    r"\b(?:complain\w*|compensat\w*|goodwill gesture|(?:raise|voice|express) (?:a|my|some|our) concerns?|"
    r"bad review|negative review|(?:1|one)-? ?star|trustpilot|warn (?:others|everyone|people)|"
    r"tell (?:all )?(?:my )?(?:friends|everyone|everybody|people)|"
    r"social media|(?:go|going|went) to the (?:press|media|newspapers)|telling everyone|"
    r"never (?:order\w*|buy\w*|shop\w*) (?:\w+ ){0,2}?again|"
    r"beschwer\w*|entschadigung|schadens?ersatz|kulanz\w*|nie wieder|(?:zur|an die) presse|"
    r"(?:faire|deposer|envoyer|formuler|adresser) une reclamation|reclamation officielle|me plaindre|je me plains|"
    r"dedommag\w*|indemnis\w*|geste commercial|plus jamais|reseaux sociaux|"
    r"queja\w*|quejarme|me quejo|hoja de reclamaciones|(?:poner|presentar|hacer) una reclamacion|"
    r"reclamacion (?:formal|oficial)|compensacion|indemniz\w*|nunca mas|redes sociales)\b"
)

# Advice the shop's articles cannot give ("Which phone should I buy?", "What stocks …?").
ADVICE = (
    r"\b(?:(?:which|what) (?:\w+ ){0,2}should i (?:buy|get|choose|invest in)|should i (?:buy|invest)|"
    r"recommend (?:me )?(?:a|an|some|the best)|invest\w* (?:in|my money)|soll ich (?:mir )?(?:\w+ )?(?:kaufen|nehmen)|"
    r"empfehl\w* (?:sie |du )?mir|(?:que|quel\w*) (?:\w+ )?(?:dois-je|devrais-je|je dois) acheter|"
    r"me recomiendas|recomiendame|que (?:\w+ )?(?:deberia|debo) comprar)\b"
)

# Tasks beyond a shop's support ("Translate …", "Write me a poem").
TASK = (
    r"\b(?:translate|ubersetze|ubersetzen|traduis|traduire|traduce|traducir|write (?:me )?(?:a|an|my)|poem|essay|"
    r"homework|recipe|rezept|recette|receta|cover letter|lettre de motivation|bewerbungsschreiben|"
    r"carta de presentacion|tax return|steuererklarung|declaration d'impots|declaracion de la renta)\b"
)

# Questions no shop's articles answer: the weather, lotteries, quizzes, jokes.
QUIZ = (
    r"\b(?:weather|wetter|meteo|(?:que|qué) tiempo (?:hara|hace|va a hacer)|pronostico|lottery|lotto|loterie|"
    r"loteria|capital of|capitale de|hauptstadt|capital de \w+|who won|wer hat \w+ gewonnen|qui a gagne|quien gano|"
    r"tell me a joke|witz|blague|chiste)\b"
)

MATTERS = [
    ("legal", COMPLAINT, LEGAL),
    ("grievance", COMPLAINT, GRIEVANCE),
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
    ("quiz", UNKNOWN, QUIZ),
]
_PATTERNS = [(name, intent, re.compile(pattern)) for name, intent, pattern in MATTERS]
# A quiz question asked beside the shop's questions is named as unanswered, not handed over.
ASIDE = {"quiz"}


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
