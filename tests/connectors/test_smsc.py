"""SMSC.ru: the handler address's secret, incoming SMS and delivery statuses
(UTF-8 or SMSC's default windows-1251), send.php and balance.php."""

import urllib.parse

import pytest

import connectors
from connectors.smsc import SECRET_PARAM

SECRET = "handler-secret"
URL = "https://odoo.example.com/omnichannel/webhook/abc"


def smsc(connector, **values):
    settings = dict(
        token="pass",
        secret=SECRET,
        webhook_url=URL,
        extra={"login": "shop", "sender": "MebelShop"},
    )
    settings.update(values)
    return connector("sms_smsc", **settings)


def body(charset="utf-8", **fields):
    return urllib.parse.urlencode(fields, encoding=charset).encode("ascii")


def test_secret_in_the_handler_address_is_checked(connector):
    raw = body(id="1", phone="79125554433", mes="hi")
    smsc(connector).verify({}, raw, {SECRET_PARAM: SECRET, "charset": "utf-8"})
    for query in (
        {},
        {SECRET_PARAM: "", "charset": "utf-8"},
        {SECRET_PARAM: "forged", "charset": "utf-8"},
        {SECRET_PARAM: SECRET},
        {SECRET_PARAM: SECRET, "charset": "windows-1251"},
    ):
        with pytest.raises(connectors.SignatureError):
            smsc(connector).verify({}, raw, query)


def test_a_channel_without_secret_accepts_nothing(connector):
    with pytest.raises(connectors.SignatureError):
        smsc(connector, secret="").verify({}, b"id=1", {SECRET_PARAM: ""})


def test_callback_url_carries_charset_and_secret(connector):
    url = smsc(connector).callback_url()
    assert url.startswith(URL + "?")
    query = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))
    assert query == {"charset": "utf-8", SECRET_PARAM: SECRET}
    assert smsc(connector, secret="").callback_url() == ""


def test_incoming_sms_is_a_message_from_a_vouched_phone(connector):
    raw = body(
        id="77",
        phone="79125554433",
        mes="Здравствуйте",
        to="79001112233",
        sent="1764900000",
    )
    [event] = smsc(connector).parse({}, raw, {})
    assert isinstance(event, connectors.InboundMessage)
    assert (event.event_id, event.message_id) == ("smsc:in:77", "in:77")
    assert event.text == "Здравствуйте"
    assert event.chat_id == event.sender.user_id == "+79125554433"
    assert event.sender.phone == "+79125554433" and event.sender.phone_verified
    assert event.date == 1764900000.0
    assert connectors.check_events([event]) == [event]


@pytest.mark.parametrize(
    "code,status",
    [
        ("-1", "queued"),
        ("0", "sent"),
        ("1", "delivered"),
        ("2", "read"),
        ("20", "failed"),
    ],
)
def test_statuses_are_mapped(connector, code, status):
    raw = body(id="501", phone="79125554433", status=code, err="0", ts="1764900000")
    [event] = smsc(connector).parse({}, raw, {})
    assert isinstance(event, connectors.events.DeliveryStatus)
    assert (event.message_id, event.status) == ("501", status)
    assert event.event_id == f"smsc:501:+79125554433:{code}"


def test_failed_status_carries_the_error_text(connector):
    raw = body(id="501", phone="79125554433", status="20", err="253")
    [event] = smsc(connector).parse({}, raw, {})
    assert (event.status, event.error_code) == ("failed", "253")
    assert event.error_text == "Forbidden by the spam filter"
    raw = body(id="502", phone="79125554433", status="24", err="0")
    [event] = smsc(connector).parse({}, raw, {})
    assert (event.error_code, event.error_text) == (
        "24",
        "Not enough money on the SMSC.ru account",
    )


def test_unknown_status_is_ignored(connector):
    [event] = smsc(connector).parse({}, body(id="1", phone="7912", status="99"), {})
    assert isinstance(event, connectors.IgnoredEvent)


@pytest.mark.parametrize(
    "raw",
    [b"phone=79125554433&mes=no+id", b"id=5&mes=hi&phone=abc"],
    ids=["no id", "no phone"],
)
def test_unreadable_bodies_raise_payload_error(connector, raw):
    with pytest.raises(connectors.PayloadError):
        smsc(connector).parse({}, raw, {})


@pytest.mark.parametrize(
    "raw",
    [b"{not a form}", body("cp1251", id="1", phone="79125554433", mes="Привет")],
    ids=["not a form", "not utf-8"],
)
def test_a_body_that_is_no_utf8_form_is_malformed(connector, raw):
    with pytest.raises(connectors.PayloadError):
        smsc(connector).check_format({}, raw, {})


def test_send_posts_utf8_text_with_login_and_sender(connector, provider):
    provider.route("/sys/send.php", body={"id": 4321, "cnt": 1})
    result = smsc(connector, base_url=provider.url).send(
        connectors.OutboundMessage("+79125554433", text="Ваш заказ готов")
    )
    assert (result.message_id, result.status) == ("4321", "sent")
    method, path, headers, raw = provider.requests[-1]
    assert (method, path) == ("POST", "/sys/send.php")
    fields = dict(urllib.parse.parse_qsl(raw.decode("ascii")))
    assert fields == {
        "login": "shop",
        "psw": "pass",
        "phones": "+79125554433",
        "mes": "Ваш заказ готов",
        "charset": "utf-8",
        "sender": "MebelShop",
        "fmt": "3",
    }


def test_send_with_an_api_key_alone(connector, provider):
    provider.route("/sys/send.php", body={"id": 1, "cnt": 1})
    smsc(connector, base_url=provider.url, token="KEY", extra={}).send(
        connectors.OutboundMessage("79125554433", text="hi")
    )
    fields = dict(urllib.parse.parse_qsl(provider.requests[-1][3].decode()))
    assert (
        fields["apikey"] == "KEY" and "login" not in fields and "sender" not in fields
    )


@pytest.mark.parametrize(
    "code,retryable", [(2, False), (7, False), (3, True), (9, True)]
)
def test_send_errors(connector, provider, code, retryable):
    provider.route("/sys/send.php", body={"error": "refused", "error_code": code})
    with pytest.raises(connectors.SendError) as caught:
        smsc(connector, base_url=provider.url).send(
            connectors.OutboundMessage("+79125554433", text="hi")
        )
    assert caught.value.code == str(code)
    assert caught.value.retryable is retryable
    assert "refused" in str(caught.value)
    assert caught.value.retry_after == (60 if code == 9 else None)


def test_send_without_credentials_is_a_config_error(connector):
    with pytest.raises(connectors.SendError) as caught:
        smsc(connector, token="").send(connectors.OutboundMessage("+7912", text="x"))
    assert caught.value.code == "config"


def test_balance(connector, provider):
    provider.route("/sys/balance.php", body={"balance": "99.50", "currency": "RUR"})
    assert smsc(connector, base_url=provider.url).balance() == "99.50 RUR"
    provider.route(
        "/sys/balance.php", body={"error": "authorise error", "error_code": 2}
    )
    with pytest.raises(connectors.ConnectorError, match="error 2"):
        smsc(connector, base_url=provider.url).balance()


def test_declares_an_sms_type(connector):
    cls = connectors.get_connector_class("sms_smsc")
    assert (cls.kind, cls.label, cls.body_format) == ("sms", "SMS (SMSC.ru)", "form")
