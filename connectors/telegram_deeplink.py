"""Telegram deep links that carry a campaign.

``https://t.me/<bot>?start=<payload>`` opens the bot; when the person presses
Start, Telegram sends the bot the message ``/start <payload>``.  The payload
is at most 64 characters of ``A-Z a-z 0-9 _ -``
(core.telegram.org/bots/features#deep-linking), too little for the names of
a source, a medium and a campaign in any alphabet.  So a payload of ours
names UTM records instead of spelling them:

``<code>``
    the code of a link an administrator made in Odoo ("Telegram links"):
    any payload is first looked up there;
``utm-<source>-<medium>-<campaign>``
    ids (base 36) of existing utm.source / utm.medium / utm.campaign
    records, an empty part for none: what the website widget adds to its
    Telegram button from the visitor's UTM parameters;
``<source>__<medium>__<campaign>``
    names written by hand (the format of earlier versions); only records
    that already exist are used.

Nothing here creates anything: a payload is anyone's to type, so it may
only point at what the company made (see omnichannel.deep.link).  The module
imports no Odoo and decides nothing about the database: it says what a
payload claims.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse

from .events import utm_from_payload

#: Telegram's limits of a ``start`` parameter.
MAX_PAYLOAD = 64
PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UTM_PREFIX = "utm-"
#: utm records are PostgreSQL serials: at most 2**31 - 1, "zik0zj" in base 36.
_ID_RE = re.compile(r"^[0-9a-z]{0,6}$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_MAX_ID = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class StartPayload:
    """What a ``/start`` payload claims: always a ``code`` candidate (the
    payload itself, looked up among stored links), and either record ids
    (``utm-`` form) or names (hand-written form)."""

    code: str = ""
    ids: tuple = (0, 0, 0)
    names: tuple = ("", "", "")

    def __bool__(self):
        return bool(self.code)


def is_start_payload(value) -> bool:
    return isinstance(value, str) and bool(PAYLOAD_RE.match(value))


def _base36(number: int) -> str:
    if not number:
        return ""
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits))


def encode_utm_ids(source_id=0, medium_id=0, campaign_id=0) -> str:
    """The ``utm-`` payload of utm record ids (0 or None for none); "" when
    there is none at all (a link without a payload)."""
    ids = []
    for value in (source_id, medium_id, campaign_id):
        value = int(value or 0)
        if not 0 <= value <= _MAX_ID:
            raise ValueError(f"not a record id: {value}")
        ids.append(value)
    if not any(ids):
        return ""
    return UTM_PREFIX + "-".join(_base36(value) for value in ids)


def decode_utm_ids(payload):
    """(source, medium, campaign) ids of a ``utm-`` payload, None for any
    other payload (or a malformed one)."""
    if not is_start_payload(payload) or not payload.startswith(UTM_PREFIX):
        return None
    parts = payload[len(UTM_PREFIX) :].split("-")
    if len(parts) != 3 or not all(_ID_RE.match(part) for part in parts):
        return None
    ids = tuple(int(part, 36) if part else 0 for part in parts)
    if not any(ids) or max(ids) > _MAX_ID:
        return None
    return ids


def decode_start_payload(payload) -> StartPayload:
    """What the payload of ``/start <payload>`` claims; an empty
    StartPayload for anything Telegram would not have sent (too long, other
    characters): that is a person typing "/start" and more by hand."""
    payload = payload.strip() if isinstance(payload, str) else ""
    if not is_start_payload(payload):
        return StartPayload()
    ids = decode_utm_ids(payload)
    if ids:
        return StartPayload(code=payload, ids=ids)
    if payload.startswith(UTM_PREFIX):
        # Our form, damaged: not names either.
        return StartPayload(code=payload)
    return StartPayload(code=payload, names=tuple(utm_from_payload(payload)))


def start_link(link, payload) -> str:
    """``link`` (https://t.me/<bot>, or a tg:// link) opening the bot with
    ``payload``; the link unchanged for an empty payload."""
    if not link or not payload:
        return link or ""
    if not is_start_payload(payload):
        raise ValueError("Telegram start payloads are 1-64 characters A-Z a-z 0-9 _ -")
    parts = urllib.parse.urlsplit(link)
    query = [
        (key, value)
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if key != "start"
    ]
    query.append(("start", payload))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
