"""Words as the local model compares them: content words, stemmed in their language (Snowball),
typos forgiven, and the places a question is about (countries and the regions they are in)."""

import difflib
import functools
import re

import snowballstemmer

from agents.guardrails.language import folded

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
STEMMERS = {"en": "english", "de": "german", "fr": "french", "es": "spanish"}
# Function words carry no meaning to match on. Question words stay: "where" and "when" tell
# apart what is asked.
STOP_WORDS = set(
    """
    a an the and or but if of to in on at by for from with about as into than then so too very just also
    i me my mine we our you your yours he she it its they them their this that these those there here
    is are was were be been being am do does did done have has had having can could would should will
    shall may might must let lets please pls thanks thank hi hello hey ok okay yes no not any some
    what which who whom whose how get got want wanted like need know tell say go going make u ur im much many
    still already yet anyone anybody someone somebody anything something whats wheres hows thing things
    gibt gibts hay existe
    welche welcher welches welchen wie was wer quel quelle quels quelles comment combien cual cuales como cuanto cuanta
    ich mich mir mein meine meinen meiner wir uns unser sie ihr ihre ihren es er der die das den dem des
    ein eine einen einem einer und oder aber wenn ob zu im in am an auf bei mit von vom zum zur für aus nach
    als ist sind war bin habe hat haben kann können könnte möchte will wird werden bitte danke noch schon
    je me moi mon ma mes nous notre vous votre vos il elle ils elles le la les l un une des du de d et ou
    mais si à au aux en dans sur par pour avec est sont suis ai avez peut puis-je pouvez merci ce cette
    ces qu que qui quoi est-ce s n ne pas
    yo me mi mis nosotros nuestro usted ustedes su sus el la los las lo un una unos unas y o pero si a al
    del de en con por para es son soy estoy está he ha tengo puede puedo gracias que qué este esta estos
    """.split()
)
# A customer's typo is forgiven for words at least this long, and this close to a known one.
TYPO_MIN_LENGTH, TYPO_CUTOFF = 4, 0.82
# A stem this long that begins another one is the same word (German compounds).
COMPOUND_MIN_LENGTH = 6
# A shorter stem stands for a longer one that adds at most this many letters ("post", "postal"; not
# "week", "weekday").
INFLECTION_MAX = 2


@functools.cache
def _stemmer(language: str):
    return snowballstemmer.stemmer(STEMMERS.get(language, "english"))


@functools.lru_cache(maxsize=50_000)
def stem(word: str, language: str) -> str:
    return _stemmer(language).stemWord(folded(word))


CONTRACTION = re.compile(r"['’](?:s|d|ll|re|ve|m|t)$|n['’]t$")


def tokens(text: str) -> list[str]:
    """Lower-case words, contractions cut off ("what's" → "what", "don't" → "do")."""
    return [CONTRACTION.sub("", word) for word in WORD.findall(text.lower())]


def content_words(text: str) -> list[str]:
    return [word for word in tokens(text) if word not in STOP_WORDS and not word.isdigit()]


def stems(text: str, language: str) -> set[str]:
    return {stem(word, language) for word in content_words(text)}


@functools.lru_cache(maxsize=8192)
def known_as(word_stem: str, vocabulary: frozenset[str]) -> frozenset[str]:
    """The vocabulary's stems this (possibly misspelt) stem stands for; empty when none."""
    if len(word_stem) < TYPO_MIN_LENGTH:
        return frozenset({word_stem} & vocabulary)
    # The same stem, inflections the stemmer left apart ("akzepti", "akzeptiert"; "post",
    # "postal") and compounds ("expressversand"); a short stem only with a short ending ("pass"
    # is not "password").
    same = {known for known in vocabulary if _same_word(known, word_stem)}
    if same:
        return frozenset(same)
    # "lnog" for "long": the same letters, the first one in place.
    for known in vocabulary:
        if known[:1] == word_stem[:1] and len(known) == len(word_stem) and sorted(known) == sorted(word_stem):
            return frozenset({known})
    longer = [known for known in vocabulary if len(known) >= TYPO_MIN_LENGTH]  # "per" is no typo of "Peru"
    return frozenset(difflib.get_close_matches(word_stem, longer, n=1, cutoff=TYPO_CUTOFF))


@functools.lru_cache(maxsize=8192)
def compound_head(word_stem: str, vocabulary: frozenset[str]) -> frozenset[str]:
    """The vocabulary's stems a compound ends with: a "Garantiereparatur" is a "Reparatur" (of
    a "Garantie", which `known_as` finds at its start)."""
    return frozenset(
        known for known in vocabulary
        if len(known) >= COMPOUND_MIN_LENGTH and len(word_stem) - len(known) >= 4 and word_stem.endswith(known)
    )  # fmt: skip


def _same_word(known: str, word_stem: str) -> bool:
    shorter, longer = sorted((known, word_stem), key=len)
    return (
        longer.startswith(shorter)
        and len(shorter) >= TYPO_MIN_LENGTH  # "per" is not "Peru"
        and (len(shorter) >= COMPOUND_MIN_LENGTH or len(longer) - len(shorter) <= INFLECTION_MAX)
    )


# Places ------------------------------------------------------------------------------------

EU, EUROPE, WORLD = "eu", "europe", "world"
# country: (region, names in English, German, French and Spanish, folded)
COUNTRIES = {
    "germany": (EU, "germany|deutschland|allemagne|alemania|berlin|hamburg|munich|munchen|cologne|koln|frankfurt|"
                 "stuttgart|dusseldorf|dresden|bremen|hannover"),
    "austria": (EU, "austria|osterreich|autriche|vienna|wien|vienne|viena|salzburg|graz|innsbruck|linz"),
    "netherlands": (EU, "netherlands|holland|niederlande|pays-bas|paises bajos|holanda|amsterdam|rotterdam|utrecht"),
    "belgium": (EU, "belgium|belgien|belgique|belgica|brussels|bruxelles|brussel|bruselas|antwerp|antwerpen|ghent"),
    "luxembourg": (EU, "luxembourg|luxemburg|luxemburgo"),
    "denmark": (EU, "denmark|danemark|dinamarca|danmark|copenhagen|kopenhagen|copenhague|kobenhavn"),
    "france": (EU, "france|frankreich|francia|paris|lyon|marseille|toulouse|bordeaux|strasbourg|lille"),
    "italy": (EU, "italy|italien|italie|italia|rome|roma|rom|milan|milano|mailand|turin|torino|naples|napoli"),
    "spain": (EU, "spain|spanien|espagne|espana|madrid|barcelona|seville|sevilla|valencia|bilbao"),
    "portugal": (EU, "portugal|lisbon|lisboa|lissabon|lisbonne|porto"),
    "poland": (EU, "poland|polen|pologne|polonia|warsaw|warschau|varsovie|varsovia|krakow|cracow"),
    "sweden": (EU, "sweden|schweden|suede|suecia|stockholm|estocolmo|gothenburg|goteborg"),
    "finland": (EU, "finland|finnland|finlande|finlandia"),
    "ireland": (EU, "ireland|irland|irlande|irlanda"),
    "greece": (EU, "greece|griechenland|grece|grecia"),
    "czechia": (EU, "czechia|czech republic|tschechien|tchequie|chequia"),
    "hungary": (EU, "hungary|ungarn|hongrie|hungria"),
    "croatia": (EU, "croatia|kroatien|croatie|croacia"),
    "slovakia": (EU, "slovakia|slowakei|slovaquie|eslovaquia"),
    "slovenia": (EU, "slovenia|slowenien|slovenie|eslovenia"),
    "romania": (EU, "romania|rumanien|roumanie|rumania"),
    "bulgaria": (EU, "bulgaria|bulgarien|bulgarie"),
    "estonia": (EU, "estonia|estland|estonie"),
    "latvia": (EU, "latvia|lettland|lettonie|letonia"),
    "lithuania": (EU, "lithuania|litauen|lituanie|lituania"),
    "malta": (EU, "malta|malte"),
    "cyprus": (EU, "cyprus|zypern|chypre|chipre"),
    "switzerland": (EUROPE, "switzerland|schweiz|suisse|suiza|zurich|geneva|geneve|genf|ginebra|bern|berne|basel|bale"),
    "norway": (EUROPE, "norway|norwegen|norvege|noruega|oslo|bergen"),
    "iceland": (EUROPE, "iceland|island|islande|islandia"),
    "liechtenstein": (EUROPE, "liechtenstein"),
    "united kingdom": (EUROPE, "united kingdom|uk|great britain|britain|england|scotland|wales|grossbritannien|"
                       "vereinigte konigreich|vereinigtes konigreich|royaume-uni|angleterre|reino unido|inglaterra|"
                       "london|londres|manchester|birmingham|edinburgh|glasgow|leeds|liverpool"),
    "united states": (WORLD, "united states|usa|america|vereinigte staaten|amerika|etats-unis|estados unidos"),
    "canada": (WORLD, "canada|kanada"),
    "australia": (WORLD, "australia|australien|australie"),
    "asia": (WORLD, "asia|asien|asie|china|japan|japon|india|indien|inde|korea|singapore|singapur"),
}  # fmt: skip
_COUNTRY = {country: re.compile(rf"\b(?:{names})\b") for country, (_, names) in COUNTRIES.items()}
# "the EU", "EU-Länder", "pays de l'UE", "la Unión Europea", "European Union"
_EU = re.compile(
    r"\b(?:eu|ue)\b|\beu-|\beuropean union\b|\beuropaischen union\b|\bunion europeenne\b|\bunion europea\b"
)
# "outside the EU", "leave the EU", "außerhalb der EU", "hors de l'UE", "fuera de la UE"
_OUTSIDE_EU = re.compile(
    r"\b(?:outside|leave|leaves|au(?:ss|ß)erhalb|verlassen|hors|quittent|fuera|salen)\b\W+(?:\w+\W+){0,2}?(?:eu|ue)\b"
)


@functools.lru_cache(maxsize=8192)
def without_places(text: str) -> str:
    """The text with its place names taken out (they are matched as places, not as words)."""
    plain = _EU.sub(" ", folded(text))
    for pattern in _COUNTRY.values():
        plain = pattern.sub(" ", plain)
    return plain


OUTSIDE_EU = "@outside-eu"


@functools.lru_cache(maxsize=8192)
def place_tokens(text: str) -> frozenset[str]:
    """What a text says about places: "@italy" for each country named, "@eu" when the EU is,
    "@outside-eu" when the text is about places outside it."""
    found = {f"@{country}" for country in countries(text)}
    plain = folded(text)
    if _OUTSIDE_EU.search(plain):
        found.add(OUTSIDE_EU)
    elif _EU.search(plain):
        found.add("@eu")
    return frozenset(found)


def region_token(country: str) -> str:
    """The place token of the region a country is in, as `place_tokens` names it."""
    return {EU: "@eu", EUROPE: OUTSIDE_EU}.get(region_of(country), "")


def countries(text: str) -> set[str]:
    plain = folded(text)
    return {country for country, pattern in _COUNTRY.items() if pattern.search(plain)}


def mentions_eu(text: str) -> bool:
    plain = folded(text)
    return bool(_EU.search(plain)) and not _OUTSIDE_EU.search(plain)


def region_of(country: str) -> str:
    return COUNTRIES[country][0]
