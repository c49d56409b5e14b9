"""Checks that make what a connector read from a body safe to store.

Every entry point runs :func:`check_events` on what a connector parsed,
before anything is journaled; connectors use :func:`provider_id`,
:func:`clean_name` and :func:`clean_input` while parsing.
"""

from __future__ import annotations

import dataclasses
import math
import re

from .errors import PayloadError

#: Deeper bodies are refused: no provider sends more than a dozen levels,
#: and deep nesting is a way to exhaust the parser's recursion.
MAX_NESTING = 64


def clean_input(value, depth=0):
    """``value`` (decoded JSON or a form field) as PostgreSQL can store it:
    no NUL characters, no lone surrogates (which JSON's ``\\ud800`` escapes
    allow, and UTF-8 cannot encode).  Refuses nesting deeper than
    :data:`MAX_NESTING`."""
    if depth > MAX_NESTING:
        raise PayloadError(f"the body is nested more than {MAX_NESTING} levels deep")
    if isinstance(value, str):
        if not value.isascii():
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [clean_input(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            clean_input(key, depth + 1): clean_input(item, depth + 1)
            for key, item in value.items()
        }
    return value


_NESTED_TYPES = {"Contact", "Location", "Attachment"}

#: Longest accepted values of the normalized events' text fields, so that a
#: hostile body cannot put a megabyte into a partner's name or an index.
#: Ids: no provider's id is longer than a hundred characters, and PostgreSQL
#: btree indexes refuse very long keys.  Over a limit the request is a 400.
MAX_ID_LENGTH = 255
MAX_URL_LENGTH = 4096
MAX_TEXT_LENGTH = 65536
MAX_SHORT_LENGTH = 1024
#: Fields holding a provider id (or what serves as one: a phone number, a
#: session): limited to MAX_ID_LENGTH and free of control characters, which
#: would otherwise reach log lines as they are.
ID_FIELDS = frozenset(
    {
        "event_id",
        "message_id",
        "chat_id",
        "user_id",
        "call_id",
        "recipient_id",
        "account_ref",
        "file_id",
        "recording_ref",
    }
)
URL_FIELDS = frozenset({"url", "recording_url", "page_url"})
#: What the customer wrote: long, but bounded.
TEXT_FIELDS = frozenset({"text", "transcript"})
#: Inline base64 file data: bounded by the webhook's body size only.
UNBOUNDED_FIELDS = frozenset({"data"})
#: Descriptions our connectors compose (reasons, notes, provider error
#: texts): cut rather than refused, the event itself being fine.
CUT_FIELDS = frozenset({"reason", "note", "error_text"})
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
#: Names (of people, files, places) are shown in lists, chat headers and
#: download dialogs: control characters there break lines and logs, and
#: bidirectional overrides make "gpj.exe" read as "exe.jpg".
NAME_FIELDS = frozenset({"name", "username", "filename", "title"})
_NAME_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def clean_name(value):
    """``value`` without control or bidirectional-override characters
    (controls become a space, overrides are dropped), in linear time."""
    if not value:
        return value or ""
    value = _BIDI_CONTROLS.sub("", _NAME_CONTROLS.sub(" ", value))
    return value.strip()


def provider_id(value, name="id"):
    """A provider id read from a decoded body, as text: strings and integers
    are ids, anything else (a list, an object, a float, a boolean) makes the
    body malformed, where ``str()`` would turn it into an id like "[[0]]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"{name} must be a string or an integer")


def is_storable_id(value) -> bool:
    """Whether ``value`` can be a provider id as :func:`check_event` accepts
    one; for entry points that look an id up rather than journal it."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and not _CONTROL_CHARACTERS.search(value)
        and not any("\ud800" <= c <= "\udfff" for c in value)
    )


def _check_text(owner, name, value):
    where = f"{owner}.{name}"
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be text, not {type(value).__name__}")
    value = clean_input(value)
    if name in NAME_FIELDS:
        value = clean_name(value)
    if name in ID_FIELDS:
        if len(value) > MAX_ID_LENGTH:
            raise PayloadError(f"{where} is longer than {MAX_ID_LENGTH} characters")
        if _CONTROL_CHARACTERS.search(value):
            raise PayloadError(f"{where} contains control characters")
    elif name in CUT_FIELDS:
        value = value[:MAX_SHORT_LENGTH]
    elif name not in UNBOUNDED_FIELDS:
        limit = (
            MAX_TEXT_LENGTH
            if name in TEXT_FIELDS
            else MAX_URL_LENGTH
            if name in URL_FIELDS
            else MAX_SHORT_LENGTH
        )
        if len(value) > limit:
            raise PayloadError(f"{where} is longer than {limit} characters")
    return value


def _check_number(owner, name, value, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{owner}.{name} must be a number")
    if not math.isfinite(value) or abs(value) > 1e15:
        raise PayloadError(f"{owner}.{name} is out of range")
    return int(value) if integer else float(value)


def check_event(event):
    """Check the fields of a normalized event (and of what it nests) against
    their declared types and the length limits above; strings are made safe
    to store (see :func:`clean_input`).  Every entry point calls this on what
    a connector parsed, before anything is journaled: whatever a connector
    let through, a wrong type or an oversized field is a :class:`PayloadError`
    (a 400) here rather than a failure when the journal row is processed."""
    owner = type(event).__name__
    for spec in dataclasses.fields(event):
        name, declared, value = spec.name, str(spec.type), getattr(event, spec.name)
        optional = declared.endswith("| None")
        base_type = declared.split("|")[0].strip()
        if value is None and optional:
            continue
        if base_type == "str":
            value = _check_text(owner, name, value)
            if name == "event_id" and not value.strip():
                raise PayloadError(f"{owner} has no event id")
        elif base_type in ("float", "int"):
            value = _check_number(owner, name, value, integer=base_type == "int")
        elif base_type == "bool":
            if not isinstance(value, bool):
                raise PayloadError(f"{owner}.{name} must be true or false")
        elif base_type == "list":
            if not isinstance(value, list):
                raise PayloadError(f"{owner}.{name} must be a list")
            for item in value:
                if not dataclasses.is_dataclass(item):
                    raise PayloadError(f"{owner}.{name} holds {type(item).__name__}")
                check_event(item)
        elif dataclasses.is_dataclass(value):
            check_event(value)
        elif base_type in _NESTED_TYPES:
            raise PayloadError(f"{owner}.{name} must be an object")
        setattr(event, name, value)
    return event


def check_events(events):
    """:func:`check_event` on each of ``events``; returns them."""
    if not isinstance(events, list):
        raise PayloadError("the connector found no event list")
    for event in events:
        check_event(event)
    return events
