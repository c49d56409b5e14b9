"""Text helpers of the quality checks, repeat requests and frequent
questions: normalization, phrase matching and grouping by similarity.

Pure Python (no Odoo), so the bench and the models share one definition.
``rapidfuzz`` comes with Odoo's own requirements; difflib is the fallback."""

import re
from collections import defaultdict

try:
    from rapidfuzz import fuzz, process
except ImportError:  # pragma: no cover - rapidfuzz is in Odoo's requirements
    fuzz = process = None

_WORD_RE = re.compile(r"\w+", re.UNICODE)
#: words without digits: numbers (orders, sizes, phones) rarely say what a question is
_LETTERS_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")
#: Words too common to say what a question is about (RU + EN).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "at",
        "is",
        "are",
        "be",
        "do",
        "does",
        "i",
        "you",
        "we",
        "my",
        "your",
        "me",
        "it",
        "this",
        "that",
        "with",
        "can",
        "could",
        "please",
        "hi",
        "hello",
        "good",
        "day",
        "there",
        "what",
        "how",
        "when",
        "is",
        "can",
        "have",
        "has",
        "и",
        "в",
        "во",
        "на",
        "с",
        "со",
        "по",
        "к",
        "ко",
        "о",
        "об",
        "от",
        "до",
        "за",
        "из",
        "у",
        "а",
        "но",
        "же",
        "ли",
        "бы",
        "не",
        "ни",
        "да",
        "я",
        "вы",
        "мы",
        "мне",
        "вам",
        "нам",
        "ты",
        "это",
        "этот",
        "эта",
        "то",
        "как",
        "что",
        "где",
        "когда",
        "можно",
        "ли",
        "здравствуйте",
        "добрый",
        "день",
        "привет",
        "пожалуйста",
        "подскажите",
        "скажите",
    ]
)


def normalize(text):
    """Lower case, ``ё`` read as ``е``, punctuation and runs of spaces
    reduced to one space: what two spellings of one sentence share."""
    text = (text or "").lower().replace("ё", "е")
    return " ".join(_WORD_RE.findall(text))


def phrase_pattern(phrase):
    """A regex finding ``phrase`` (normalized the way ``text`` is by
    :func:`prepare`) as whole words; a phrase of punctuation (``?``) is
    found anywhere."""
    phrase = _SPACE_RE.sub(" ", (phrase or "").lower().replace("ё", "е").strip())
    if not phrase:
        return None
    head = r"(?<!\w)" if phrase[0].isalnum() else ""
    tail = r"(?!\w)" if phrase[-1].isalnum() else ""
    return re.compile(head + re.escape(phrase) + tail)


def prepare(text):
    """The text as phrases are searched in: lower case, ``ё`` -> ``е``,
    runs of spaces as one, punctuation kept (``?`` is a marker)."""
    return _SPACE_RE.sub(" ", (text or "").lower().replace("ё", "е")).strip()


def find_phrases(text, phrases):
    """The phrases of ``phrases`` found in ``text``, in their given order."""
    prepared = prepare(text)
    found = []
    for phrase in phrases:
        pattern = phrase_pattern(phrase)
        if pattern and pattern.search(prepared):
            found.append(phrase)
    return found


def similarity(a, b):
    """0..100: how alike two texts are once normalized (word order free)."""
    a, b = normalize(a), normalize(b)
    if not a or not b:
        return 0.0
    if fuzz:
        return float(fuzz.token_sort_ratio(a, b))
    from difflib import SequenceMatcher

    return (
        SequenceMatcher(
            None, " ".join(sorted(set(a.split()))), " ".join(sorted(set(b.split())))
        ).ratio()
        * 100
    )


def _closest(text, leaders, threshold):
    """Index of the first of ``leaders`` at least ``threshold`` alike to ``text``."""
    if not leaders:
        return None
    if process:
        # one C call over the leaders; extractOne keeps the best, the first on ties
        found = process.extractOne(
            text, leaders, scorer=fuzz.token_sort_ratio, score_cutoff=threshold
        )
        return found[2] if found else None
    for index, leader in enumerate(leaders):
        if similarity(text, leader) >= threshold:
            return index
    return None


def _signature(normalized):
    """Words that say what the text is about, longest first (rare words are
    usually the longer ones): the keys a text is bucketed under."""
    words = {
        w
        for w in normalized.split()
        if w not in STOP_WORDS and len(w) > 2 and not w.isdigit()
    }
    return sorted(words, key=lambda w: (-len(w), w))


def group_similar(items, threshold=80, max_bucket=2000):
    """Group ``items`` (``(key, text)`` pairs) whose texts are alike.

    Returns a list of groups, biggest first; each group is a list of keys,
    its first key the example (the first item of the group's leading text).

    Not O(n²): identical normalized texts (numbers left out) collapse first -
    most frequent questions are literally repeated; each distinct text is
    then put in the bucket of its most significant word (its longest
    non-stop word), and only texts sharing a bucket are compared.  Inside a
    bucket, most asked first, a text joins the leader it is most alike to
    (``token_sort_ratio`` at least ``threshold``, one ``process.extractOne``
    over the bucket's leaders) or leads a new group: deterministic, and
    linear in the number of texts times the groups of a bucket (a bucket is
    cut at ``max_bucket`` texts to bound it)."""
    by_text = defaultdict(list)
    seen = {}  # many messages are the same text: normalize each text once
    for key, text in items:
        norm = seen.get(text)
        if norm is None:
            norm = seen[text] = " ".join(
                _LETTERS_RE.findall((text or "").lower().replace("ё", "е"))
            )
        if norm:
            by_text[norm].append(key)
    buckets = defaultdict(list)
    for norm in by_text:
        signature = _signature(norm)
        buckets[signature[0] if signature else norm].append(norm)
    groups = []
    for texts in buckets.values():
        # the most asked text of a bucket leads it
        texts.sort(key=lambda t: (-len(by_text[t]), t))
        for start in range(0, len(texts), max_bucket):
            leaders, members = [], []
            for text in texts[start : start + max_bucket]:
                index = _closest(text, leaders, threshold)
                if index is None:
                    leaders.append(text)
                    members.append(list(by_text[text]))
                else:
                    members[index].extend(by_text[text])
            groups.extend(zip(leaders, members, strict=False))
    groups.sort(key=lambda g: (-len(g[1]), g[0]))
    return [(text, keys) for text, keys in groups]
