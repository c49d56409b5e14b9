"""Hostile input: random and mutated payloads posted to every webhook.

Each provider gets real-format samples, mutated (wrong types, huge strings,
deep nesting, bad encodings, missing fields, random bytes) and, where the
provider signs the body, signed again so that the parser - not only the
signature check - meets the mutation.  Whatever comes in, the answer is
never a 500, a refused request stores nothing, and a signed body of the
provider's format that no parser reads is journaled as Unreadable (answered
like any other: the provider must not resend it).  The random generator is
seeded: a failure names the seed, the provider and the payload to replay."""

import datetime
import hashlib
import hmac
import json
import logging
import os
import random
import time
import urllib.parse
import zoneinfo

from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_meta import messaging_body, messaging_item, wa_message
from .fake_meta import sign as meta_sign
from .fake_telegram import tg_update
from .fake_twilio import ACCOUNT_SID, AUTH_TOKEN, incoming_sms, twilio_request
from .fake_viber import viber_message, viber_signature
from .fake_vk import GROUP_ID, vk_message_new
from .fake_zadarma import sign as zadarma_sign

#: Payloads per webhook (and a few more for the raw-bytes cases).  Enough
#: to meet every mutation kind on every field of the samples several times.
PER_WEBHOOK = int(os.environ.get("OMNICHANNEL_FUZZ_PER_WEBHOOK", 120))
DEAD_URL = (
    "http://127.0.0.1:9"  # nothing listens: media downloads fail fast, kept for retry
)

DEFAULT_SEED = 20261123
APP_SECRET = "fuzz-app-secret"
PBX_SECRET = "fuzz-pbx-secret"
ZADARMA_NOTIFY_FIELDS = ("caller_id", "called_did", "call_start")

#: The failures a journal row may end in after the fuzz (see the test).
EXPECTED_PROCESSING_ERRORS = ("ConnectorError", "SendError", "UserError")

_logger = logging.getLogger(__name__)


def fuzz_seed():
    """A fixed seed by default, so that a CI run is reproducible; set
    OMNICHANNEL_FUZZ_SEED=random (or a number) to explore further."""
    seed = os.environ.get("OMNICHANNEL_FUZZ_SEED") or DEFAULT_SEED
    return random.SystemRandom().randrange(2**32) if seed == "random" else int(seed)


def deep_nesting(depth):
    return ("[" * depth + "]" * depth).encode()


class Mutator:
    """Mutations of JSON-like values and of raw bytes."""

    def __init__(self, rnd):
        self.rnd = rnd

    def garbage_value(self):
        rnd = self.rnd
        choice = rnd.randrange(17)
        if choice == 0:
            return None
        if choice == 1:
            return rnd.choice([0, -1, 2**63, -(2**70), 10**30])
        if choice == 2:
            return rnd.random() * rnd.choice([1, 1e308, -1e-308])
        if choice == 3:
            return rnd.choice([True, False])
        if choice == 4:
            return ""
        if choice == 5:
            return "x" * rnd.choice([256, 4096, 70000])
        if choice == 6:
            return (
                "".join(
                    chr(rnd.randrange(1, 0x10FFFF)) for _ in range(rnd.randrange(1, 40))
                )
                .encode("utf-8", "surrogatepass")
                .decode("utf-8", "replace")
            )
        if choice == 7:
            return "\x00\x01\x1b[31m\u202e" + "é" * rnd.randrange(1, 20)
        if choice == 8:
            return [self.garbage_value() for _ in range(rnd.randrange(0, 4))]
        return self._more_garbage(choice)

    def _more_garbage(self, choice):
        rnd = self.rnd
        if choice == 9:
            return {
                str(rnd.randrange(100)): self.garbage_value()
                for _ in range(rnd.randrange(0, 4))
            }
        if choice == 10:
            value = "deep"
            for _ in range(rnd.randrange(50, 400)):
                value = [value]
            return value
        if choice == 11:
            return str(rnd.randrange(-(10**12), 10**12))
        if choice == 12:
            return rnd.choice(
                [
                    "NaN",
                    "null",
                    "{}",
                    "[]",
                    "<script>alert(1)</script>",
                    "'; DROP TABLE x;--",
                ]
            )
        if choice == 13:
            return [{}] * rnd.randrange(1, 2000)
        if choice == 14:
            # Incompressible: PostgreSQL's btree indexes refuse such keys
            # (a run of one letter compresses below their limit).
            return "".join(
                rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                for _ in range(rnd.randrange(300, 9000))
            )
        if choice == 15:
            return rnd.choice(
                [
                    "line\nbreak",
                    "forged\r\nlog line",
                    "tab\there",
                    "\x1b]0;title\x07",
                    " ",
                ]
            )
        return rnd.choice([1.5, -0.0, 1e-300, float(2**53)])

    def paths(self, value, prefix=()):
        yield prefix
        if isinstance(value, dict):
            for key, item in value.items():
                yield from self.paths(item, prefix + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from self.paths(item, prefix + (index,))

    def mutate(self, value):
        """A copy of ``value`` with 1 to 3 random changes at random places."""
        value = json.loads(json.dumps(value))
        for _ in range(self.rnd.randrange(1, 4)):
            paths = [p for p in self.paths(value) if p]
            if not paths:
                return self.garbage_value()
            path = self.rnd.choice(paths)
            parent = value
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            action = self.rnd.randrange(4)
            if action == 0 and isinstance(parent, dict):
                del parent[last]
            elif action == 1 and isinstance(parent, dict):
                parent[
                    self.rnd.choice(["extra", "", "x" * 300, "update_id", "type"])
                ] = self.garbage_value()
            else:
                parent[last] = self.garbage_value()
        return value

    def mutate_bytes(self, body):
        rnd = self.rnd
        choice = rnd.randrange(8)
        if choice == 0:
            return b""
        if choice == 1:
            return body[: rnd.randrange(len(body) or 1)]
        if choice == 2:
            data = bytearray(body)
            for _ in range(rnd.randrange(1, 10)):
                if data:
                    data[rnd.randrange(len(data))] = rnd.randrange(256)
            return bytes(data)
        if choice == 3:
            return b"\xff\xfe\xfa" + body + b"\xc3\x28"
        if choice == 4:
            return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 500)))
        if choice == 5:
            return deep_nesting(rnd.choice([1000, 10000, 100000]))
        if choice == 6:
            return body.decode("utf-8", "replace").encode("utf-16")
        return b'{"a":' * 3000 + b"1" + b"}" * 3000


@tagged("post_install", "-at_install")
class TestWebhookFuzz(OmnichannelHttpCase):
    """Thousands of hostile payloads against every webhook."""

    def setUp(self):
        super().setUp()
        self.env.company.sudo().write(
            {"sms_twilio_account_sid": ACCOUNT_SID, "sms_twilio_auth_token": AUTH_TOKEN}
        )
        # Hundreds of posts from one address within a minute: the public
        # channels' rate limits (tested in test_security_public) would answer
        # 429 to most; what is fuzzed here is what comes after them.
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("omnichannel_inbox.rate_limit_per_address", "0")
        params.set_param("omnichannel_inbox.rate_limit_per_channel", "0")
        make = self._create_channel
        self.channels = {
            "sandbox": make("sandbox", name="Fuzz sandbox"),
            "telegram": make(
                "telegram",
                name="Fuzz bot",
                token="9:FUZZ",
                webhook_secret="tg-secret",
                api_base_url=DEAD_URL,
            ),
            "whatsapp": make(
                "whatsapp",
                name="Fuzz WhatsApp",
                token="EAAG-FUZZ",
                app_secret=APP_SECRET,
                verify_token="v",
                account_ref="100000000000009",
                api_base_url=DEAD_URL,
            ),
            "messenger": make(
                "messenger",
                name="Fuzz page",
                token="EAAG-PAGE",
                app_secret=APP_SECRET,
                verify_token="v",
                account_ref="900000009",
                api_base_url=DEAD_URL,
            ),
            "instagram": make(
                "instagram",
                name="Fuzz IG",
                token="EAAG-IG",
                app_secret=APP_SECRET,
                verify_token="v",
                account_ref="1780000009",
                api_base_url=DEAD_URL,
            ),
            "viber": make(
                "viber",
                name="Fuzz Viber",
                token="viber-fuzz-token",
                api_base_url=DEAD_URL,
            ),
            "vk": make(
                "vk",
                name="Fuzz VK",
                token="vk-token",
                webhook_secret="vk-secret-key",
                verify_token="conf",
                account_ref=str(GROUP_ID),
                api_base_url=DEAD_URL,
            ),
            "sms": make(
                "sms",
                name="Fuzz SMS",
                account_ref="+1 (202) 555-0199",
                api_base_url=DEAD_URL,
            ),
            "website": make("website", name="Fuzz form", webhook_secret="site-key"),
            "phone_webhook": make(
                "phone_webhook", name="Fuzz PBX", webhook_secret=PBX_SECRET
            ),
            "asterisk": make(
                "asterisk", name="Fuzz Asterisk", webhook_secret=PBX_SECRET
            ),
            "zadarma": make(
                "zadarma",
                name="Fuzz Zadarma",
                token="zd-key",
                app_secret="zd-secret",
                api_base_url=DEAD_URL,
            ),
        }
        self.channel_ids = [c.id for c in self.channels.values()]
        self.sandbox_secret = self.channels["sandbox"].sudo().webhook_secret

    # -- samples and signing ---------------------------------------------------
    def samples(self, kind):
        """Real-format bodies (dicts) of ``kind``'s webhook."""
        now = int(time.time())
        if kind == "sandbox":
            return [
                {
                    "event_id": "ev-1",
                    "session": "visitor-1",
                    "text": "Hello",
                    "name": "Anna",
                    "phone": "+79125550000",
                    "email": "anna@example.com",
                }
            ]
        if kind == "telegram":
            return [
                tg_update(1, text="Hello"),
                tg_update(
                    2,
                    contact={
                        "phone_number": "+79125550001",
                        "first_name": "Anna",
                        "user_id": 5550001,
                    },
                ),
                tg_update(
                    3,
                    photo=[
                        {
                            "file_id": "p1",
                            "file_unique_id": "u1",
                            "width": 1,
                            "height": 1,
                        }
                    ],
                ),
                tg_update(4, edited=True, text="edited"),
                tg_update(5, location={"latitude": 55.7, "longitude": 37.6}),
            ]
        if kind == "whatsapp":
            return [
                (
                    wa_message(
                        "100000000000009",
                        "79125550002",
                        "wamid.1",
                        "text",
                        {"body": "Hi"},
                    )
                ),
                (
                    wa_message(
                        "100000000000009",
                        "79125550002",
                        "wamid.2",
                        "image",
                        {"id": "media-1", "mime_type": "image/jpeg"},
                    )
                ),
            ]
        if kind in ("messenger", "instagram"):
            account = self.channels[kind].account_ref
            product = "page" if kind == "messenger" else "instagram"
            return [
                (
                    messaging_body(
                        product,
                        account,
                        messaging_item(
                            "5550003", account, message={"mid": "m-1", "text": "Hi"}
                        ),
                    )
                ),
                (
                    messaging_body(
                        product,
                        account,
                        messaging_item(
                            "5550003",
                            account,
                            message={
                                "mid": "m-2",
                                "attachments": [
                                    {
                                        "type": "image",
                                        "payload": {"url": DEAD_URL + "/a.jpg"},
                                    }
                                ],
                            },
                        ),
                    )
                ),
            ]
        if kind == "viber":
            return [
                viber_message("5000000001", {"type": "text", "text": "Hi"}),
                viber_message(
                    "5000000002",
                    {
                        "type": "contact",
                        "contact": {"name": "A", "phone_number": "79125550004"},
                    },
                ),
            ]
        if kind == "vk":
            return [
                vk_message_new(101, text="Hi"),
                vk_message_new(
                    102,
                    text="",
                    attachments=[
                        {
                            "type": "photo",
                            "photo": {
                                "sizes": [
                                    {
                                        "url": DEAD_URL + "/p.jpg",
                                        "width": 1,
                                        "height": 1,
                                    }
                                ]
                            },
                        }
                    ],
                ),
            ]
        if kind == "sms":
            return [incoming_sms("+79125550005", "+12025550199", "Hi by SMS")]
        if kind == "website":
            return [
                {
                    "name": "Anna",
                    "email": "anna@example.com",
                    "phone": "+79125550006",
                    "message": "Call me",
                    "page_url": "https://shop.example.com/sofa",
                    "submission_id": "form-1",
                }
            ]
        if kind == "phone_webhook":
            return [
                {
                    "event_id": "e1",
                    "call_id": "c1",
                    "event": "ringing",
                    "direction": "in",
                    "customer_number": "8 (912) 555-00-07",
                    "timestamp": "2026-11-20T10:00:00",
                },
                {
                    "events": [
                        {
                            "event_id": "e2",
                            "call_id": "c1",
                            "event": "ended",
                            "direction": "in",
                            "customer_number": "+79125550007",
                            "timestamp": "2026-11-20T10:05:00",
                            "duration": 120,
                            "outcome": "answered",
                        }
                    ]
                },
            ]
        if kind == "asterisk":
            return [
                {
                    "Event": "Newchannel",
                    "Uniqueid": "1700000000.1",
                    "Linkedid": "1700000000.1",
                    "CallerIDNum": "89125550008",
                    "Exten": "100",
                    "Timestamp": str(now),
                    "Channel": "PJSIP/trunk-1",
                },
                {
                    "events": [
                        {
                            "Event": "Hangup",
                            "Uniqueid": "1700000000.1",
                            "Linkedid": "1700000000.1",
                            "Cause": "16",
                            "Timestamp": str(now + 30),
                        }
                    ]
                },
            ]
        if kind == "zadarma":
            # Within the replay window, in the line's time zone.
            call_start = datetime.datetime.now(
                zoneinfo.ZoneInfo(self.channels["zadarma"].phone_timezone or "UTC")
            )
            return [
                {
                    "event": "NOTIFY_START",
                    "call_start": call_start.strftime("%Y-%m-%d %H:%M:%S"),
                    "pbx_call_id": "in-1",
                    "caller_id": "79125550009",
                    "called_did": "74950000000",
                }
            ]
        raise AssertionError(kind)

    def encode(self, kind, data):
        """(body, headers) of ``data`` as ``kind``'s provider sends it, signed."""
        channel = self.channels[kind]
        if kind in ("sms", "zadarma"):
            params = (
                data if isinstance(data, dict) else {"data": json.dumps(data)[:1000]}
            )
            params = {
                str(k)[:300]: v if isinstance(v, str) else json.dumps(v)[:100000]
                for k, v in params.items()
            }
            if kind == "sms":
                return twilio_request(channel.webhook_url, params)
            body = urllib.parse.urlencode(params).encode()
            signature = zadarma_sign(
                "".join(params.get(f, "") for f in ZADARMA_NOTIFY_FIELDS), "zd-secret"
            )
            return body, {
                "Content-Type": "application/x-www-form-urlencoded",
                "Signature": signature,
            }
        body = json.dumps(data, ensure_ascii=self.rnd.random() < 0.5).encode()
        return body, self.sign(kind, body)

    def sign(self, kind, body):
        headers = {"Content-Type": "application/json"}
        if kind == "sandbox":
            headers["X-Omnichannel-Sandbox-Secret"] = self.sandbox_secret
        elif kind == "telegram":
            headers["X-Telegram-Bot-Api-Secret-Token"] = "tg-secret"
        elif kind in ("whatsapp", "messenger", "instagram"):
            headers["X-Hub-Signature-256"] = meta_sign(body, APP_SECRET)
        elif kind == "viber":
            headers["X-Viber-Content-Signature"] = viber_signature(
                "viber-fuzz-token", body
            )[1]
        elif kind == "website":
            headers["X-Omnichannel-Api-Key"] = "site-key"
        elif kind in ("phone_webhook", "asterisk"):
            timestamp = str(int(time.time()))
            headers["X-Omnichannel-Timestamp"] = timestamp
            headers["X-Omnichannel-Signature"] = (
                "sha256="
                + hmac.new(
                    PBX_SECRET.encode(),
                    timestamp.encode() + b"." + body,
                    hashlib.sha256,
                ).hexdigest()
            )
        return headers

    # -- the run ---------------------------------------------------------------
    def stored(self):
        """What a refused request must not change."""
        self.env.invalidate_all()
        return (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search_count([("channel_id", "in", self.channel_ids)]),
            self.env["omnichannel.message"].sudo().search_count([]),
            self.env["omnichannel.call"].sudo().search_count([]),
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search_count([]),
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            .search_count([]),
            # Not the asset bundles a first page render compiles.
            self.env["ir.attachment"]
            .sudo()
            .search_count(
                ["|", ("url", "=", False), ("url", "not like", "/web/assets/")]
            ),
        )

    def payloads(self, kind):
        """(label, body, headers) of the hostile requests for ``kind``."""
        mutator = Mutator(self.rnd)
        samples = self.samples(kind)
        for number in range(PER_WEBHOOK):
            sample = self.rnd.choice(samples)
            mode = self.rnd.random()
            if mode < 0.65:
                # A mutated body, signed again: the parser meets it.
                data = mutator.mutate(sample)
                if kind == "vk" and isinstance(data, dict):
                    data["secret"] = "vk-secret-key"
                body, headers = self.encode(kind, data)
                yield f"mutated #{number}", body, headers
            elif mode < 0.85:
                # Raw byte damage, signed again where the provider signs bytes.
                body, headers = self.encode(kind, sample)
                body = mutator.mutate_bytes(body)
                if kind not in ("sms", "zadarma"):
                    headers = self.sign(kind, body)
                yield f"bytes #{number}", body, headers
            elif mode < 0.93:
                # The right body with a forged signature, or none.
                body, headers = self.encode(kind, mutator.mutate(sample))
                forged = {
                    k: (v[:-2] + "ff" if len(v) > 2 else "x")
                    if "sign" in k.lower()
                    or "secret" in k.lower()
                    or "key" in k.lower()
                    or "token" in k.lower()
                    else v
                    for k, v in headers.items()
                }
                if forged == headers and kind != "vk":
                    forged = {"Content-Type": headers["Content-Type"]}
                yield f"forged #{number}", body, forged
            else:
                # A wrong content type.
                body, headers = self.encode(kind, sample)
                headers = dict(
                    headers,
                    **{
                        "Content-Type": self.rnd.choice(
                            [
                                "text/plain",
                                "application/xml",
                                "multipart/form-data; boundary=x",
                                "application/json; charset=latin-1",
                            ]
                        )
                    },
                )
                yield f"content-type #{number}", body, headers

    def test_every_webhook_survives_hostile_payloads(self):
        seed = fuzz_seed()
        _logger.info(
            "webhook fuzz seed %s (replay with OMNICHANNEL_FUZZ_SEED=%s)", seed, seed
        )
        self.rnd = random.Random(seed)
        statuses = {}
        total = 0
        # Processing runs in the cron here, after the batch: the webhook's
        # answer and what it journals are what is fuzzed.
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "True"
        )
        for kind in self.channels:
            url_key = self.channels[kind].sudo().webhook_key
            for label, body, headers in self.payloads(kind):
                before = self.stored()
                response = self.url_open(
                    f"/omnichannel/webhook/{url_key}",
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=60,
                )
                total += 1
                status = response.status_code
                statuses.setdefault(kind, {}).setdefault(status, 0)
                statuses[kind][status] += 1
                replay = (
                    f"seed {seed}, {kind} {label}, "
                    f"body {body[:300]!r}, headers {headers!r}"
                )
                self.assertLess(
                    status,
                    500,
                    f"server error: {response.text[:500]}\n{replay}",
                )
                if status >= 400:
                    self.assertEqual(
                        self.stored(),
                        before,
                        "a refused request stored something: " + replay,
                    )
                    self.assertTrue(response.content, "a refusal says why: " + replay)
                else:
                    # The provider's retry of an accepted request: acknowledged
                    # again, and nothing stored twice.
                    after = self.stored()
                    retry = self.url_open(
                        f"/omnichannel/webhook/{url_key}",
                        data=body,
                        headers=headers,
                        allow_redirects=False,
                        timeout=60,
                    )
                    self.assertEqual(
                        retry.status_code,
                        status,
                        "a retry is answered alike: " + replay,
                    )
                    self.assertEqual(
                        self.stored(),
                        after,
                        "a retry stored something again: " + replay,
                    )
        self.assertGreaterEqual(total, 1000)
        _logger.info(
            "webhook fuzz: %s requests; statuses per webhook %s", total, statuses
        )
        for kind in self.channels:
            self.assertTrue(
                any(s >= 400 for s in statuses[kind]),
                f"{kind} refused nothing: {statuses[kind]}",
            )

        # What was accepted is processed without losing anything: each row
        # ends done, ignored, or in error with its reason kept for a retry;
        # what no parser read is kept whole, with the parser's reason.
        Journal = self.env["omnichannel.inbound.event"].sudo()
        rows = Journal.search([("channel_id", "in", self.channel_ids)])
        unreadable = rows.filtered(lambda r: r.state == "unreadable")
        self.assertTrue(unreadable, "signed mutations no parser reads are journaled")
        for row in unreadable:
            self.assertEqual(row.event_kind, "request")
            self.assertTrue(
                row.raw_body and row.error_message and row.error_traceback,
                f"seed {seed}: unreadable row {row.id} keeps its body and reason",
            )
        # Authentic phone notifications sent outside the replay window (a
        # mutated call_start) are kept as ignored requests, with the reason.
        replayed = rows.filtered(
            lambda r: r.event_kind == "request" and r.state == "ignored"
        )
        self.assertTrue(
            all("replay" in (r.note or "") and r.raw_body for r in replayed),
            replayed.mapped("note"),
        )
        self.assertFalse(
            rows.filtered(
                lambda r: (
                    r.event_kind == "request"
                    and r.state not in ("unreadable", "ignored")
                )
            ),
            "every request was read at once",
        )
        for _round in range(20):
            if not Journal._cron_process():
                break
        self.env.invalidate_all()
        self.assertFalse(
            rows.filtered(lambda r: r.state == "pending" and r.next_attempt_date),
            "all due rows were run",
        )
        self.assertTrue(
            rows.filtered(lambda r: r.state == "done"),
            "accepted payloads were processed",
        )
        for row in rows.filtered(lambda r: r.state == "error"):
            self.assertTrue(
                row.error_message and row.error_traceback, "a failure keeps its reason"
            )
            self.assertTrue(row.payload, "a failure keeps what the customer sent")
            # What may fail once a body is journaled is the provider (a file
            # that cannot be fetched) or an order of events (a call's end
            # before its start): a programming or database error means the
            # shared input check let a malformed value through.
            failure = row.error_traceback.strip().splitlines()[-1]
            self.assertTrue(
                failure.split(":")[0].rsplit(".", 1)[-1] in EXPECTED_PROCESSING_ERRORS,
                f"seed {seed}: journal row {row.provider_event_id} failed on "
                f"{failure}\npayload {row.payload[:2000]}",
            )

    # -- the other public entry points ------------------------------------------
    def form_payloads(self, rnd):
        """(label, body, headers) of hostile posts of the website contact form."""
        mutator = Mutator(rnd)
        sample = {
            "name": "Anna",
            "email": "anna@example.com",
            "phone": "+79125550010",
            "message": "Call me",
            "page_url": "https://shop.example.com/sofa",
            "submission_id": "form-fuzz-1",
        }
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        for number in range(PER_WEBHOOK):
            mode = rnd.random()
            form = dict(sample, submission_id=f"form-fuzz-{number}")
            if mode < 0.6:
                for _ in range(rnd.randrange(1, 4)):
                    key = rnd.choice(list(sample) + ["website", "x" * 300])
                    if rnd.random() < 0.3:
                        form.pop(key, None)
                    else:
                        value = mutator.garbage_value()
                        form[key] = (
                            value
                            if isinstance(value, str)
                            else json.dumps(value)[:100000]
                        )
                yield (
                    f"form #{number}",
                    urllib.parse.urlencode(form).encode(),
                    form_type,
                )
            elif mode < 0.8:
                body = mutator.mutate_bytes(urllib.parse.urlencode(form).encode())
                yield f"form bytes #{number}", body, form_type
            elif mode < 0.9:
                # Raw bytes that are not UTF-8, percent-encoded the way a broken client
                # does.
                raw = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
                body = (
                    b"email=a%40example.com&name="
                    + urllib.parse.quote_from_bytes(raw).encode()
                )
                yield f"form encoding #{number}", body, form_type
            else:
                boundary = "fuzzboundary"
                body = (
                    (
                        f"--{boundary}\r\nContent-Disposition: form-data; "
                        f'name="email"; filename="x.bin"\r\n'
                        "Content-Type: application/octet-stream\r\n\r\n"
                    ).encode()
                    + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
                    + (f"\r\n--{boundary}--\r\n").encode()
                )
                yield (
                    f"multipart #{number}",
                    body,
                    {"Content-Type": "multipart/form-data; boundary=" + boundary},
                )

    def test_contact_form_survives_hostile_posts(self):
        seed = fuzz_seed()
        rnd = random.Random(seed)
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "True"
        )
        url = "/omnichannel/contact/{}".format(
            self.channels["website"].sudo().webhook_key
        )
        statuses = {}
        for label, body, headers in self.form_payloads(rnd):
            before = self.stored()
            response = self.url_open(
                url, data=body, headers=headers, allow_redirects=False, timeout=60
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            replay = f"seed {seed}, contact form {label}, body {body[:300]!r}"
            self.assertLess(
                response.status_code,
                500,
                f"server error: {response.text[:500]}\n{replay}",
            )
            if response.status_code >= 400:
                self.assertEqual(
                    self.stored(), before, "a refused form stored something: " + replay
                )
            else:
                after = self.stored()
                self.url_open(
                    url, data=body, headers=headers, allow_redirects=False, timeout=60
                )
                self.assertEqual(
                    self.stored(),
                    after,
                    "the same form sent twice was stored twice: " + replay,
                )
        _logger.info("contact form fuzz: statuses %s", statuses)
        self.assertIn(400, statuses, "no hostile form was refused")
        self.assertIn(200, statuses, "no form went through")
        Journal = self.env["omnichannel.inbound.event"].sudo()
        Journal._cron_process()
        self.env.invalidate_all()
        rows = Journal.search([("channel_id", "=", self.channels["website"].id)])
        self.assertTrue(rows)
        self.assertFalse(
            rows.filtered(lambda r: r.state == "error"),
            "seed {}: {}".format(
                seed,
                [
                    (r.provider_event_id, r.error_message)
                    for r in rows
                    if r.state == "error"
                ],
            ),
        )

    def test_handshakes_reads_and_unknown_addresses(self):
        """GET handshakes with hostile queries, unknown and archived webhook
        addresses, the Sandbox page's reads and the widget data: never a 500,
        never a row stored."""
        seed = fuzz_seed()
        rnd = random.Random(seed)
        mutator = Mutator(rnd)
        archived = self._create_channel(
            "telegram", name="Archived bot", token="8:OLD", webhook_secret="old"
        )
        archived_key = archived.sudo().webhook_key
        archived.sudo().active = False
        body, headers = (
            tg_update(77, text="to an archived bot"),
            {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": "old",
            },
        )
        before = self.stored()
        response = self.url_open(
            f"/omnichannel/webhook/{archived_key}",
            data=json.dumps(body),
            headers=headers,
            timeout=60,
        )
        self.assertEqual(response.status_code, 404, "an archived channel takes nothing")
        self.assertEqual(self.stored(), before)

        def text_value():
            # Within the request line's limit of the HTTP server in front
            # of Odoo (werkzeug's: 64 KB; a proxy's in production).
            value = mutator.garbage_value()
            return (value if isinstance(value, str) else json.dumps(value))[:2000]

        requests_done = 0
        before = self.stored()
        for number in range(PER_WEBHOOK * 2):
            kind = rnd.choice(list(self.channels))
            key = self.channels[kind].sudo().webhook_key
            choice = rnd.randrange(6)
            if choice == 0:
                query = {
                    rnd.choice(
                        [
                            "hub.mode",
                            "hub.verify_token",
                            "hub.challenge",
                            "zd_echo",
                            "x",
                        ]
                    ): text_value()
                    for _ in range(rnd.randrange(1, 4))
                }
                if rnd.random() < 0.5:
                    query.update({"hub.mode": "subscribe", "hub.verify_token": "v"})
                path = f"/omnichannel/webhook/{key}?{urllib.parse.urlencode(query)}"
                method, payload = "GET", None
            elif choice == 1:
                bad_key = rnd.choice(
                    [
                        key[:-1] + ("A" if key[-1] != "A" else "B"),
                        key + "x",
                        "x" * rnd.choice([1, 129, 5000]),
                        urllib.parse.quote(text_value()[:300], safe=""),
                        "%00",
                        "..%2F..%2Fweb",
                        archived_key,
                    ]
                )
                path, method, payload = (
                    f"/omnichannel/webhook/{bad_key}",
                    "POST",
                    b'{"update_id": 1}',
                )
            elif choice == 2:
                # The visitor's real token, so that the reads past the token
                # check (after_id) are fuzzed too.
                envelope = {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": number,
                    "params": {
                        "session": rnd.choice(["visitor-1", text_value()]),
                        "after_id": mutator.garbage_value(),
                        "token": self.channels["sandbox"]
                        .sudo()
                        ._sandbox_visitor_token("visitor-1"),
                    },
                }
                if rnd.random() < 0.3:
                    envelope["params"] = mutator.mutate(envelope["params"])
                sandbox_key = rnd.choice(
                    [self.channels["sandbox"].sudo().webhook_key, key]
                )
                path, method = (
                    f"/omnichannel/sandbox/{sandbox_key}/messages",
                    "JSONRPC",
                )
                payload = json.dumps(envelope).encode()
            elif choice == 3:
                widget = rnd.choice([0, 1, 2**31, 2**63, 10**30, self.env.company.id])
                path, method, payload = (
                    f"/omnichannel/widget/{widget}",
                    "GET",
                    None,
                )
            elif choice == 4:
                page = rnd.choice(["contact", "sandbox"])
                query = {
                    rnd.choice(
                        ["page_url", "utm_source", "utm_campaign", "x"]
                    ): text_value()
                }
                path, method, payload = (
                    f"/omnichannel/{page}/{key}?{urllib.parse.urlencode(query)}",
                    "GET",
                    None,
                )
            else:
                path, method = f"/omnichannel/webhook/{key}", "POST"
                payload = mutator.mutate_bytes(b'{"update_id": 1}')
            if method == "GET":
                response = self.url_open(path, allow_redirects=False, timeout=60)
            else:
                response = self.url_open(
                    path,
                    data=payload,
                    headers={"Content-Type": "application/json"},
                    allow_redirects=False,
                    timeout=60,
                )
            requests_done += 1
            replay = "seed {}, {} {}, body {!r}".format(
                seed,
                method,
                path[:500],
                (payload or b"")[:300],
            )
            self.assertLess(
                response.status_code,
                500,
                f"server error: {response.text[:500]}\n{replay}",
            )
            if method == "JSONRPC" and response.status_code == 200:
                self.assertNotIn(
                    "error",
                    response.json(),
                    f"the Sandbox read failed: {response.text[:500]}\n{replay}",
                )
            if choice == 1:
                self.assertEqual(
                    response.status_code, 404, "an unknown address is a 404: " + replay
                )
        self.assertEqual(
            self.stored(),
            before,
            f"seed {seed}: a handshake or a read stored something",
        )
        self.assertGreaterEqual(requests_done, 2 * PER_WEBHOOK)
