"""Dates and delays promised in a chat message, in Russian and English.

Pure Python (no Odoo), so that the phrase table is testable on its own:
"через неделю", "в понедельник после обеда", "завтра", "до конца месяца",
"next Tuesday", "in 3 days", "end of month", "I'll decide in a week"...

Everything is computed relative to ``now``: the moment the message was
written, in the writer's timezone (an aware or naive ``datetime``; the result
is in the same timezone).  Only future moments are returned, and only from
sentences that are not questions: a question is answered, not scheduled.

Conventions (documented in README, checked by the tests):

* a day without an hour is returned without one (``has_time`` False);
* "в понедельник" / "on Monday" is the next such day after today;
  "в следующий понедельник" / "next Monday" is the Monday of next week;
* "на следующей неделе" / "next week" is next week's Monday; "до конца
  недели" / "end of the week" is this week's Friday; "до конца месяца" /
  "end of month" is the last day of the month; "в следующем месяце" / "next
  month" is its first day;
* parts of the day: morning 10:00, before lunch 11:00, lunch 13:00, after
  lunch / afternoon 14:00, evening 18:00, tonight 19:00;
* a sentence speaking of the past ("вчера", "назад", "last", "ago", "was"...)
  yields no weekday nor calendar date: "I called on Monday" is no promise.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from dateutil.relativedelta import MO, relativedelta

__all__ = [
    "DateMention",
    "find_date",
    "follow_up_in",
    "is_own_promise",
    "is_question",
    "split_sentences",
]


@dataclass(frozen=True)
class DateMention:
    when: datetime
    phrase: str
    has_time: bool


# -- vocabulary ---------------------------------------------------------------
NUMBER_WORDS = {
    "один": 1,
    "одну": 1,
    "одна": 1,
    "одного": 1,
    "два": 2,
    "две": 2,
    "двух": 2,
    "три": 3,
    "трех": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
    "пятнадцать": 15,
    "двадцать": 20,
    "тридцать": 30,
    "пару": 2,
    "пара": 2,
    "несколько": 3,
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a couple of": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
}
_NUM = r"(\d{{1,3}}|{})".format(
    "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
)

RU_UNITS = [
    (r"минут[уы]?", "minutes"),
    (r"час(?:а|ов)?", "hours"),
    (r"(?:дн(?:я|ей)|день|сутки|суток)", "days"),
    (r"недел[юиь]", "weeks"),
    (r"месяц(?:а|ев)?", "months"),
    (r"(?:год(?:а)?|лет)", "years"),
]
EN_UNITS = [
    (r"(?:minutes?|mins?)", "minutes"),
    (r"hours?", "hours"),
    (r"days?", "days"),
    (r"weeks?", "weeks"),
    (r"months?", "months"),
    (r"years?", "years"),
]

RU_WEEKDAYS = [
    r"понедельник\w*",
    r"вторник\w*",
    r"сред[ауые]",
    r"четверг\w*",
    r"пятниц[ауые]",
    r"суббот[ауые]",
    r"воскресень[еяю]",
]
EN_WEEKDAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]

RU_MONTHS = [
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма[яй]",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
]
EN_MONTHS = [
    "jan(?:uary)?",
    "feb(?:ruary)?",
    "mar(?:ch)?",
    "apr(?:il)?",
    "may",
    "june?",
    "july?",
    "aug(?:ust)?",
    "sep(?:t(?:ember)?)?",
    "oct(?:ober)?",
    "nov(?:ember)?",
    "dec(?:ember)?",
]

PARTS_OF_DAY = [
    (r"после\s+обеда|after\s+lunch|(?:in\s+the\s+)?afternoon|дн[её]м", time(14, 0)),
    (r"до\s+обеда|before\s+lunch", time(11, 0)),
    (r"в\s+обед|at\s+lunch(?:time)?|around\s+lunch", time(13, 0)),
    (r"утром|с\s+утра|(?:in\s+the\s+)?morning", time(10, 0)),
    (r"вечером|(?:in\s+the\s+)?evening", time(18, 0)),
    (r"tonight", time(19, 0)),
]

PAST_MARKERS = re.compile(
    r"\b(?:вчера|позавчера|назад|прошл\w*|был[аио]?|звонил[аи]?|писал[аи]?|говорил[аи]?|получил[аи]?|"
    r"заказывал[аи]?|приезжал[аи]?|yesterday|ago|last|was|were|did|had|called|talked|spoke|ordered|"
    r"received|wrote|visited)\b"
)

# A salesperson's own promise: first person, future ("I'll send", "пришлю").
OWN_PROMISE = re.compile(
    r"\b(?:i\s*'ll|i\s+will|i\s+shall|i\s*'m\s+going\s+to|i\s+am\s+going\s+to|we\s*'ll|we\s+will|"
    r"we\s*'re\s+going\s+to|let\s+me|will\s+(?:send|call|get\s+back|write|prepare|check|confirm)|"
    r"(?:при|вы|от|за|пере)шл(?:ю|ем)|отправл(?:ю|ю)|отправим|(?:пере)?звон(?:ю|им)|наберу|наберем|"
    r"напиш(?:у|ем)|свяж(?:усь|емся)|сообщ(?:у|им)|подготов(?:лю|им)|уточн(?:ю|им)|сдела(?:ю|ем)|"
    r"провер(?:ю|им)|отвеч(?:у|ю)|ответим|посмотр(?:ю|им)|согласу(?:ю|ем)|(?:рас|по)считаю|(?:рас|по)считаем|"
    r"выставл(?:ю)|выставим|подтвержу|подтвердим|верн(?:усь|емся)|созвонимся|спишемся|встретимся|дам\s+знать|дадим\s+знать)\b"
)


def _normalize(text):
    text = (text or "").lower().replace("ё", "е").replace("’", "'").replace("‘", "'")
    return re.sub(r"[ \t\u00a0]+", " ", text)


def split_sentences(text):
    """[(sentence, is_question)] of ``text``, in order."""
    result = []
    # A full stop inside "20.03" or "1.5" does not end a sentence.
    for match in re.finditer(
        r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+(?:[.!?]+(?=\s|$))?", text or ""
    ):
        sentence = match.group(0).strip()
        if sentence.strip(".!?"):
            result.append((sentence, sentence.rstrip().endswith("?")))
    return result


def is_question(text):
    return any(question for _sentence, question in split_sentences(text))


def is_own_promise(text):
    return bool(OWN_PROMISE.search(_normalize(text)))


# -- date arithmetic ----------------------------------------------------------
def _next_weekday(day, weekday, next_week=False):
    """The next ``weekday`` strictly after ``day``; with ``next_week``, that
    weekday in the calendar week after ``day``'s."""
    if next_week:
        monday = day + relativedelta(weeks=1, weekday=MO(-1))
        return monday + relativedelta(days=weekday)
    return day + relativedelta(days=1, weekday=weekday)


def _week_friday(day):
    """This week's Friday; on a weekend, the day itself."""
    return max(day + relativedelta(weekday=MO(-1)) + timedelta(days=4), day)


def _shift(now, amount, unit):
    """``now`` moved by ``amount`` ``unit``s, and whether that names an hour
    (months and years keep the day, or the month's last one)."""
    return now + relativedelta(**{unit: amount}), unit in ("minutes", "hours")


def _amount(word):
    if not word:
        return 1
    word = word.strip()
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word, 1)


def _calendar_date(now, day, month, year=None):
    """A day and month said without a year is the next such date."""
    try:
        if year:
            year = int(year)
            year += 2000 if year < 100 else 0
            return now.replace(year=year, month=month, day=day)
        candidate = now.replace(month=month, day=day)
        if candidate.date() < now.date():
            candidate = candidate.replace(year=now.year + 1)
        return candidate
    except ValueError:
        return None


# -- day patterns -------------------------------------------------------------
# (regex, function(match, now) -> (datetime, has_time) | None, dated)
# ``dated``: a weekday or calendar date, which a sentence about the past cancels.
def _day_patterns():
    patterns = []

    def add(regex, func, dated=False):
        patterns.append((re.compile(regex), func, dated))

    add(
        r"\bпослезавтра\b|\bthe\s+day\s+after\s+tomorrow\b",
        lambda m, n: (n + timedelta(days=2), False),
    )
    add(r"\bзавтра\b|\btomorrow\b", lambda m, n: (n + timedelta(days=1), False))
    add(
        r"\btonight\b",
        lambda m, n: (n.replace(hour=19, minute=0, second=0, microsecond=0), True),
    )
    add(r"\bсегодня\b|\btoday\b", lambda m, n: (n, False))
    for unit_re, unit in RU_UNITS:
        add(
            rf"\b(?:через|в\s+течение)\s+(?:{_NUM}\s+)?{unit_re}\b",
            lambda m, n, unit=unit: _shift(n, _amount(m.group(1)), unit),
        )
    add(r"\bчерез\s+полчаса\b", lambda m, n: _shift(n, 30, "minutes"))
    add(r"\bчерез\s+полгода\b", lambda m, n: _shift(n, 6, "months"))
    for unit_re, unit in EN_UNITS:
        add(
            rf"\b(?:in|within)\s+{_NUM}\s+{unit_re}\b(?!\s+ago)",
            lambda m, n, unit=unit: _shift(n, _amount(m.group(1)), unit),
        )
    add(r"\b(?:in|within)\s+half\s+an\s+hour\b", lambda m, n: _shift(n, 30, "minutes"))
    add(
        r"\b(?:на\s+следующей\s+неделе|next\s+week)\b",
        lambda m, n: (_next_weekday(n, 0, next_week=True), False),
    )
    add(
        r"\b(?:(?:до|к)\s+конц[ау]\s+(?:этой\s+)?недели|в\s+конце\s+(?:этой\s+)?недели|на\s+этой\s+неделе|"
        r"(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week|this\s+week)\b",
        lambda m, n: (_week_friday(n), False),
    )
    add(
        r"\b(?:на\s+(?:этих\s+)?выходных|(?:this|over\s+the|at\s+the|on\s+the)\s+weekend)\b",
        lambda m, n: (n if n.weekday() == 5 else _next_weekday(n, 5), False),
    )
    add(
        r"\b(?:в\s+начале\s+следующего\s+месяца|в\s+следующем\s+месяце|next\s+month|"
        r"(?:early|beginning\s+of|start\s+of)\s+next\s+month)\b",
        lambda m, n: (n + relativedelta(months=1, day=1), False),
    )
    add(
        r"\b(?:(?:до|к)\s+конц[ау]\s+(?:этого\s+)?месяца|в\s+конце\s+(?:этого\s+)?месяца|"
        r"(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month)\b",
        lambda m, n: (n + relativedelta(day=31), False),
    )
    add(
        r"\b(?:(?:до|к)\s+конц[ау]\s+года|в\s+конце\s+года|(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?year)\b",
        lambda m, n: (n.replace(month=12, day=31), False),
    )
    # Weekdays.
    for weekday, day_re in enumerate(RU_WEEKDAYS):
        add(
            rf"\b(?:во?|до|ко?|на)\s+(?:(следующ\w+|ближайш\w+|эт\w+)\s+)?{day_re}\b",
            lambda m, n, wd=weekday: (
                _next_weekday(
                    n,
                    wd,
                    next_week=bool(m.group(1) and m.group(1).startswith("следующ")),
                ),
                False,
            ),
            dated=True,
        )
    for weekday, day_name in enumerate(EN_WEEKDAYS):
        add(
            rf"\b(?:(?:on|by|until|till|before)\s+)?(?:(next|this|coming)\s+)?{day_name}\b(?!\s*'s)",
            lambda m, n, wd=weekday: (
                _next_weekday(n, wd, next_week=m.group(1) == "next"),
                False,
            ),
            dated=True,
        )
    # Calendar dates.
    ru_months = "|".join(f"({name}\\w*)" for name in RU_MONTHS)
    add(
        rf"\b(\d{{1,2}})(?:-?го)?\s+(?:{ru_months})\b",
        lambda m, n: _month_match(m, n, 2),
        dated=True,
    )
    en_months = "|".join(f"({name})" for name in EN_MONTHS)
    add(
        rf"\b(?:{en_months})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b",
        lambda m, n: _month_match(m, n, 1, day_group=13),
        dated=True,
    )
    add(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{en_months})\b",
        lambda m, n: _month_match(m, n, 2),
        dated=True,
    )
    add(
        r"\b(20\d\d)-(\d{2})-(\d{2})\b",
        lambda m, n: _as_day(
            _calendar_date(n, int(m.group(3)), int(m.group(2)), m.group(1))
        ),
        dated=True,
    )
    add(
        r"\b(\d{1,2})\.(\d{1,2})\.(20\d\d)\b",
        lambda m, n: _as_day(_dotted(n, m)),
        dated=True,
    )
    add(
        r"\b(?:до|к|на|by|on|until|till|before)\s+(\d{1,2})\.(\d{1,2})(?:\.(\d{2,4}))?\b",
        lambda m, n: _as_day(_dotted(n, m)),
        dated=True,
    )
    return patterns


def _as_day(value):
    return (value, False) if value else None


def _dotted(now, match):
    day, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return _calendar_date(now, day, month, match.group(3))


def _month_match(match, now, first_month_group, day_group=1):
    groups = match.groups()
    month = next(
        (
            i
            for i, g in enumerate(
                groups[first_month_group - 1 : first_month_group - 1 + 12]
            )
            if g
        ),
        None,
    )
    if month is None:
        return None
    return _as_day(_calendar_date(now, int(match.group(day_group)), month + 1))


DAY_PATTERNS = _day_patterns()


def _time_of_day(sentence):
    """(time, phrase) said in ``sentence``, or (None, '')."""
    for regex in (
        r"\b(?:в|к|at|by|до)\s+(\d{1,2})[:.](\d{2})\b",
        r"\b(?:в|к|at|by)\s+(\d{1,2})\s*(?:час\w*|ч)\b",
        r"\b(?:at|by|around)?\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b",
        r"\bat\s+(\d{1,2})(?::(\d{2}))?\b",
    ):
        match = re.search(regex, sentence)
        if not match:
            continue
        hour = int(match.group(1))
        minute = (
            int(match.group(2) or 0)
            if match.lastindex >= 2 and match.group(2) and match.group(2).isdigit()
            else 0
        )
        suffix = match.group(3) if match.lastindex and match.lastindex >= 3 else None
        if suffix == "pm" and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif suffix is None and 1 <= hour <= 7 and "час" in match.group(0):
            hour += 12  # "в 3 часа" at work means 15:00
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return time(hour, minute), match.group(0).strip()
    for regex, value in PARTS_OF_DAY:
        match = re.search(rf"\b(?:{regex})\b", sentence)
        if match:
            return value, match.group(0)
    return None, ""


def find_date(sentence, now):
    """The first future moment ``sentence`` speaks of, as a DateMention, or None."""
    text = _normalize(sentence)
    past = bool(PAST_MARKERS.search(text))
    best = None
    for regex, func, dated in DAY_PATTERNS:
        if dated and past:
            continue
        for match in regex.finditer(text):
            result = func(match, now)
            if result and result[0] and (best is None or match.start() < best[0]):
                best = (match.start(), match.end(), match.group(0).strip(), result)
            break
    # The time of day is looked for outside the day phrase ("до 20.03" is no 20:03).
    rest = text[: best[0]] + " " + text[best[1] :] if best else text
    tod, tod_phrase = _time_of_day(rest)
    if best is None:
        if tod is None or past:
            return None
        when = now.replace(hour=tod.hour, minute=tod.minute, second=0, microsecond=0)
        if when <= now:
            return None
        return DateMention(when, tod_phrase, True)
    _start, _end, phrase, (when, has_time) = best
    if tod is not None and not has_time:
        when = when.replace(hour=tod.hour, minute=tod.minute, second=0, microsecond=0)
        has_time = True
        phrase = f"{phrase} {tod_phrase}"
    elif not has_time:
        when = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if (has_time and when <= now) or (not has_time and when.date() < now.date()):
        return None
    return DateMention(when, phrase, has_time)


def follow_up_in(text, now, own_promise=False):
    """(DateMention, sentence) of the first statement in ``text`` that names
    a future date; questions are skipped.  With ``own_promise``, only
    sentences where the writer commits to something ("I'll send", "пришлю")
    count."""
    for sentence, question in split_sentences(text):
        if question:
            continue
        if own_promise and not is_own_promise(sentence):
            continue
        mention = find_date(sentence, now)
        if mention:
            return mention, sentence
    return None
