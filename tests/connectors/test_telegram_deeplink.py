"""Telegram deep links: the start payloads of our links, within Telegram's
limits (core.telegram.org/bots/features#deep-linking: 1-64 characters of
A-Z a-z 0-9 _ -), read back, and whatever else a person may type after
/start read as nothing of ours."""

import urllib.parse

import pytest
from test_telegram import parse, update

import connectors
from connectors.telegram_deeplink import (
    MAX_PAYLOAD,
    PAYLOAD_RE,
    StartPayload,
    decode_start_payload,
    decode_utm_ids,
    encode_utm_ids,
    start_link,
)

BIGGEST = 2**31 - 1


@pytest.mark.parametrize(
    "ids",
    [(1, 2, 3), (BIGGEST, BIGGEST, BIGGEST), (5, 0, 0), (0, 0, 77), (36, 0, 1296)],
)
def test_ids_round_trip_within_telegram_limits(ids):
    payload = encode_utm_ids(*ids)
    assert PAYLOAD_RE.match(payload)
    assert len(payload) <= MAX_PAYLOAD
    assert decode_utm_ids(payload) == ids
    assert decode_start_payload(payload) == StartPayload(code=payload, ids=ids)


def test_no_utm_is_no_payload():
    assert encode_utm_ids(0, None, 0) == ""
    assert start_link("https://t.me/shop_bot", "") == "https://t.me/shop_bot"


@pytest.mark.parametrize("value", [-1, BIGGEST + 1])
def test_what_is_not_a_record_id_is_refused(value):
    with pytest.raises(ValueError):
        encode_utm_ids(value, 0, 0)


@pytest.mark.parametrize(
    "payload",
    [
        "utm-",
        "utm---",
        "utm-1-2",
        "utm-1-2-3-4",
        "utm-A-2-3",
        "utm-zzzzzzz-1-1",
        "utm-zik0zk--",  # 2**31: no PostgreSQL id
        "utm-1_2-3",
    ],
)
def test_damaged_id_payloads_claim_nothing(payload):
    assert decode_utm_ids(payload) is None
    claim = decode_start_payload(payload)
    assert claim.ids == (0, 0, 0)
    assert claim.names == ("", "", "")


@pytest.mark.parametrize(
    "payload",
    ["", "   ", "a b", "x" * 65, "привет", "a/b", "a.b", "%41", None, 12],
)
def test_what_telegram_would_not_send_is_nothing(payload):
    assert not decode_start_payload(payload)


def test_hand_written_names_and_a_stranger_word_are_claims_only():
    assert decode_start_payload("vk__post__autumn") == StartPayload(
        code="vk__post__autumn", names=("vk", "post", "autumn")
    )
    # A random word is at most a code to look up, or a source name that
    # Odoo only uses if it exists.
    assert decode_start_payload("xyz") == StartPayload(
        code="xyz", names=("xyz", "", "")
    )


def test_start_link_sets_the_one_start_parameter():
    link = start_link("https://t.me/shop_bot?start=old&x=1", "utm-1-2-3")
    parts = urllib.parse.urlsplit(link)
    assert (parts.netloc, parts.path) == ("t.me", "/shop_bot")
    assert urllib.parse.parse_qs(parts.query) == {"x": ["1"], "start": ["utm-1-2-3"]}
    assert start_link("tg://resolve?domain=shop_bot", "spring") == (
        "tg://resolve?domain=shop_bot&start=spring"
    )
    with pytest.raises(ValueError):
        start_link("https://t.me/shop_bot", "not ours!")


def test_start_update_keeps_text_and_names_only_for_the_hand_written_form(connector):
    [event] = parse(connector, update(text="/start utm-1-2-3"))
    assert isinstance(event, connectors.InboundMessage)
    assert (event.command, event.text) == ("start", "/start utm-1-2-3")
    # Ids are resolved by Odoo against existing records, never taken as names.
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == ("", "", "")
    [event] = parse(connector, update(text="/start " + "y" * 80))
    assert (event.command, event.utm_source) == ("start", "")
    [event] = parse(connector, update(text="/start@shop_bot ads__cpc__spring"))
    assert (event.command, event.utm_campaign) == ("start", "spring")
