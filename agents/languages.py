"""Which of the widget's languages a text is written in (py3langid, its model ships in the wheel)."""

import functools
import re

LANGUAGES = ("en", "de", "fr", "es")
DEFAULT = "en"
# PostgreSQL's text search configuration for each: its stop words and stemmer.
TEXT_SEARCH = {"en": "english", "de": "german", "fr": "french", "es": "spanish"}
# Below this probability a text is too short or too mixed to tell ("Klarna?", "do u acept paypal"):
# it is read as the default language, which every article exists in...
SURE_FROM = 0.8
# ...unless it is written with letters or marks only that language uses ("¿Aceptan Google Pay?").
MARKS = {"es": re.compile(r"[¿¡ñ]"), "de": re.compile(r"[äöüß]"), "fr": re.compile(r"[çœèêëîï]|-(?:vous|je|il)\b")}
LIKELY_FROM = 0.5
INVERTED = re.compile(r"[¿¡]")


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


@functools.lru_cache(maxsize=4096)
def language_of(text: str) -> str:
    """The text's language among `LANGUAGES`, or `DEFAULT` when it cannot tell."""
    if not text.strip():
        return DEFAULT
    language, probability = _identifier().classify(text)
    if probability >= SURE_FROM:
        return language
    marked = MARKS.get(language)
    if marked and probability >= LIKELY_FROM and marked.search(text.lower()):
        return language
    # "¿Aceptan Apple Pay?": marks that only one language uses settle it.
    return "es" if INVERTED.search(text) else DEFAULT
