"""Shared test tools: a fake provider HTTP server on 127.0.0.1 and helpers to
create channels and post webhooks the way providers do.

Providers are never patched: each fake server speaks the provider's real
wire format over real HTTP, and our code reaches it through the channel's
``api_base_url`` exactly as it reaches the real provider in production."""

import json
import threading
import time
import urllib.parse
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo import Command
from odoo.tests import HttpCase, TransactionCase, new_test_user


class RecordedRequest:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.fields = {}
        self.files = {}
        self._parse_body()

    def _parse_body(self):
        ctype = self.headers.get("Content-Type", "")
        if not self.body:
            return
        if ctype.startswith("application/json"):
            try:
                self.fields = json.loads(self.body)
            except ValueError:
                self.fields = {}
        elif ctype.startswith("application/x-www-form-urlencoded"):
            self.fields = {
                k: v[0]
                for k, v in urllib.parse.parse_qs(
                    self.body.decode(), keep_blank_values=True
                ).items()
            }
        elif ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True)
                if filename:
                    self.files[name] = (filename, payload, part.get_content_type())
                else:
                    self.fields[name] = payload.decode() if payload is not None else ""

    def json(self):
        return json.loads(self.body)


class FakeProviderServer:
    """A small threaded HTTP server on 127.0.0.1.

    ``routes`` maps (method, path prefix) to a handler ``f(request) ->
    (status, headers dict, body bytes|str|dict)``; every request is
    recorded in ``requests``.  Subclasses implement one provider."""

    def __init__(self):
        self.requests = []
        self.routes = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {
                    k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()
                }
                recorded = RecordedRequest(
                    self.command,
                    urllib.parse.unquote(parsed.path),
                    query,
                    dict(self.headers),
                    body,
                )
                server.requests.append(recorded)
                status, headers, payload = server.dispatch(recorded)
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                    headers = dict(
                        {"Content-Type": "application/json"}, **(headers or {})
                    )
                elif isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload or b"")))
                self.end_headers()
                self.wfile.write(payload or b"")

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, method, prefix, handler):
        """Register (or override, the latest wins) a handler."""
        self.routes.insert(0, (method, prefix, handler))

    def dispatch(self, request):
        for method, prefix, handler in self.routes:
            if request.method == method and request.path.startswith(prefix):
                return handler(request)
        return (
            404,
            {},
            {"error": f"no fake route for {request.method} {request.path}"},
        )

    def find(self, path_part):
        return [r for r in self.requests if path_part in r.path]


class OmnichannelTestMixin:
    """Helpers shared by the addon's test cases."""

    @classmethod
    def _setup_company(cls):
        # Phone numbers in tests are Russian, as in the seed articles.
        cls.env.company.country_id = cls.env.ref("base.ru")

    @classmethod
    def _create_channel(cls, channel_type="sandbox", **vals):
        values = {
            "name": f"{channel_type.title()} test",
            "channel_type": channel_type,
        }
        values.update(vals)
        return cls.env["omnichannel.channel"].sudo().create(values)

    @classmethod
    def _load_russian(cls):
        """Russian activated, with the addon's translations (i18n/ru.po)."""
        cls.env["res.lang"]._activate_lang("ru_RU")
        cls.env["ir.module.module"]._load_module_terms(
            ["omnichannel_inbox"], ["ru_RU"], overwrite=True
        )

    @classmethod
    def _business_calendar(cls, name, weekdays, hour_from, hour_to, tz="UTC"):
        """A working-time calendar open from ``hour_from`` to ``hour_to``
        (in ``tz``) on each of ``weekdays`` (0 is Monday), closed otherwise."""
        return cls.env["resource.calendar"].create(
            {
                "name": name,
                "tz": tz,
                "attendance_ids": [Command.clear()]
                + [
                    Command.create(
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": hour_from,
                            "hour_to": hour_to,
                            "day_period": "full_day",
                        }
                    )
                    for day in weekdays
                ],
            }
        )

    @classmethod
    def _team_on_duty(cls, name, login):
        """(salesperson, team): an inbox user who is the team's on-duty
        salesperson, so that whatever the hour the test runs at, a new
        customer's conversation and lead are assigned to them."""
        salesperson = new_test_user(
            cls.env,
            login=login,
            groups="sales_team.group_sale_salesman,omnichannel_inbox.group_omnichannel_user",
        )
        team = cls.env["crm.team"].create(
            {
                "name": name,
                "member_ids": [Command.set(salesperson.ids)],
                "omnichannel_on_duty_user_id": salesperson.id,
            }
        )
        return salesperson, team

    def run_downloads(self):
        """Run the file download cron as the scheduler would once woken
        (tests run no cron): files follow their message's text."""
        return self.env["omnichannel.attachment.download"]._cron_download()

    def _journal_and_process(self, channel, events):
        rows = self.env["omnichannel.inbound.event"].sudo()._journal(channel, events)
        rows._process()
        return rows

    def _sandbox_event(self, session, text="Hello", event_id=None, **contact):
        from odoo.addons.omnichannel_inbox import connectors

        return connectors.InboundMessage(
            event_id=event_id or f"ev-{session}-{time.monotonic_ns()}",
            message_id=event_id or f"msg-{session}-{time.monotonic_ns()}",
            sender=connectors.Contact(
                user_id=session,
                name=contact.get("name", f"Visitor {session}"),
                phone=contact.get("phone", ""),
                email=contact.get("email", ""),
            ),
            chat_id=session,
            date=time.time(),
            text=text,
        )


class OmnichannelTransactionCase(OmnichannelTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_company()


class OmnichannelHttpCase(OmnichannelTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_company()

    def start_tour(self, url_path, tour_name, step_delay=None, **kwargs):
        # A whole tour may take longer than Odoo's 60 s on a loaded CI
        # machine; a real failure still fails, only later.
        kwargs.setdefault("timeout", 180)
        return super().start_tour(url_path, tour_name, step_delay=step_delay, **kwargs)

    def _telegram_bot(self, token="123:TEST", **channel_values):
        """A Telegram channel named "Sales bot" (secret ``s3cret-token``)
        whose Bot API is a fake server on 127.0.0.1, kept on
        ``self.bot_api`` and stopped after the test; ``channel_values``
        add to or override the channel's values."""
        from .fake_telegram import FakeTelegramServer

        self.bot_api = FakeTelegramServer(token=token).start()
        self.addCleanup(self.bot_api.stop)
        values = {
            "name": "Sales bot",
            "token": token,
            "webhook_secret": "s3cret-token",
            "api_base_url": self.bot_api.url,
        }
        values.update(channel_values)
        return self._create_channel("telegram", **values)

    def _viber_bot(self, **channel_values):
        """A Viber channel named "Viber shop" whose API is a fake server on
        127.0.0.1, kept on ``self.viber`` and stopped after the test;
        ``channel_values`` add to or override the channel's values."""
        from .fake_viber import FakeViberServer

        self.viber = FakeViberServer().start()
        self.addCleanup(self.viber.stop)
        values = {
            "name": "Viber shop",
            "token": self.viber.token,
            "viber_sender_name": "Mebel Shop",
            "api_base_url": self.viber.api_root,
        }
        values.update(channel_values)
        return self._create_channel("viber", **values)

    def post_webhook(self, channel, body, headers=None, method="POST"):
        """POST ``body`` (dict -> JSON, or raw bytes) to the channel's webhook."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        headers = dict({"Content-Type": "application/json"}, **(headers or {}))
        url = f"/omnichannel/webhook/{channel.sudo().webhook_key}"
        if method == "GET":
            return self.url_open(url, headers=headers, allow_redirects=False)
        return self.url_open(url, data=body, headers=headers, allow_redirects=False)

    def assert_kept_unreadable(self, responses, ack_body, count=None):
        """Signed bodies no parser reads: each answered 200 with the
        provider's acknowledgement (anything else makes it resend them), and
        journaled once as an Unreadable request with its reason, nothing
        else made of them."""
        for response in responses:
            self.assertEqual(
                (response.status_code, response.text),
                (200, ack_body),
                response.request.body,
            )
        rows = self.journal()
        self.assertEqual(len(rows), count or len(responses))
        self.assertEqual(set(rows.mapped("state")), {"unreadable"})
        self.assertEqual(set(rows.mapped("event_kind")), {"request"})
        self.assertTrue(all(row.raw_body and row.error_message for row in rows))
        self.assertFalse(self.messages())
