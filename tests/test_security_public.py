"""Issue 10, points 4 and 5 over HTTP, as an anonymous visitor would try
them: the Sandbox page's visitor token, the rate limits and body limit of
the public pages, and hostile names and files."""

import base64
import json
import re

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase

API_KEY_HEADER = "X-Omnichannel-Api-Key"


@tagged("post_install", "-at_install")
class TestSandboxVisitors(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.channel = self._create_channel(
            "sandbox", name="Public sandbox", webhook_secret="sandbox-secret-42"
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.key = self.channel.webhook_key

    def open_page(self):
        page = self.url_open(f"/omnichannel/sandbox/{self.key}")
        self.assertEqual(page.status_code, 200)
        session = re.search(r'data-session="([^"]+)"', page.text).group(1)
        token = re.search(r'data-token="([^"]+)"', page.text).group(1)
        return page, session, token

    def send(self, session, token, text="Hello", **extra):
        body = dict(
            {
                "event_id": f"ev-{session}-{text}",
                "session": session,
                "token": token,
                "name": "Visitor",
                "text": text,
            },
            **extra,
        )
        return self.url_open(
            f"/omnichannel/sandbox/{self.key}/send",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    def poll(self, session, token):
        response = self.url_open(
            f"/omnichannel/sandbox/{self.key}/messages",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {"session": session, "token": token},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()["result"]["messages"]

    def test_page_shows_no_secret_and_its_token_lets_the_visitor_write_and_read(self):
        page, session, token = self.open_page()
        self.assertNotIn(
            "sandbox-secret-42",
            page.text,
            "the webhook secret never reaches the browser",
        )
        self.assertEqual(
            self.send(session, token, "Hello from the page").status_code, 200
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        self.assertEqual(conversation.identity_id.provider_user_id, session)
        self.assertEqual(
            [m["text"] for m in self.poll(session, token)], ["Hello from the page"]
        )
        self.assertNotIn(
            '"token"',
            self.Journal.search([("channel_id", "=", self.channel.id)]).payload,
            "the token is not journaled",
        )

    def test_someone_elses_session_is_refused_and_nothing_stored(self):
        victim = self._journal_and_process(
            self.channel,
            [self._sandbox_event("victim-session", "My address is Lenina 5")],
        )
        _page, session, token = self.open_page()
        rows = self.Journal.search_count([])
        for forged in (token, "", "x" * 64, token.upper()):
            response = self.send("victim-session", forged, "I am the victim now")
            self.assertEqual(response.status_code, 403, forged)
            self.assertEqual(
                self.poll("victim-session", forged), [], "nor read their conversation"
            )
        self.assertEqual(
            self.send(
                session, token[:-1] + ("0" if token[-1] != "0" else "1")
            ).status_code,
            403,
        )
        # The webhook itself still wants the channel secret, which the page no longer
        # has.
        response = self.post_webhook(
            self.channel, {"event_id": "w1", "session": "victim-session", "text": "Hi"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.Journal.search_count([]), rows, "nothing stored")
        self.assertEqual(len(victim.conversation_id.omnichannel_message_ids), 1)

    def test_sandbox_addresses_are_listed_to_administrators_only(self):
        manager = new_test_user(
            self.env,
            login="sec_sb_manager",
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        with self.assertRaises(AccessError):
            self.channel.with_user(manager).read(["sandbox_url"])
        with self.assertRaises(AccessError):
            self.channel.with_user(manager).action_open_sandbox()
        admin = new_test_user(
            self.env,
            login="sec_sb_admin",
            groups="omnichannel_inbox.group_omnichannel_admin",
        )
        self.assertIn(
            "/omnichannel/sandbox/", self.channel.with_user(admin).sandbox_url
        )

    def test_sandbox_is_rate_limited(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.rate_limit_per_address", "2"
        )
        _page, session, token = self.open_page()
        self.assertEqual(
            [self.send(session, token, f"m{i}").status_code for i in range(2)],
            [200, 200],
        )
        refused = self.send(session, token, "m3")
        self.assertEqual(refused.status_code, 429)
        self.assertTrue(1 <= int(refused.headers["Retry-After"]) <= 60)
        self.assertEqual(
            self.Journal.search_count([("channel_id", "=", self.channel.id)]),
            2,
            "nothing stored",
        )

    def test_hostile_names_and_files(self):
        """A name with a bidi override and a bell, an SVG with a script sent
        as a PNG: processed by the background worker (an administrator in
        Odoo's eyes), the file is still stored as plain text."""
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "1"
        )
        svg = (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>'
        )
        _page, session, token = self.open_page()
        response = self.send(
            session,
            token,
            "See the file",
            name="Ivan\u202egnp.exe\x07 Petrov",
            attachments=[
                {
                    "filename": "photo\u202egnp.svg",
                    "mimetype": "image/png",
                    "data": base64.b64encode(svg).decode(),
                },
                {
                    "filename": "invoice",
                    "mimetype": "image/png",
                    "data": base64.b64encode(b"<html><script>x()</script>").decode(),
                },
            ],
        )
        self.assertEqual(response.status_code, 200)
        rows = self.Journal.search([("channel_id", "=", self.channel.id)])
        self.assertEqual(rows.state, "pending")
        rows._process()
        self.assertEqual(rows.state, "done")
        message = rows.message_id
        self.assertEqual(message.partner_id.name, "Ivangnp.exe  Petrov")
        self.assertFalse(
            re.search("[\u202a-\u202e\u2066-\u2069\x00-\x1f]", message.partner_id.name)
        )
        files = message.attachment_ids.sudo()
        self.assertEqual(sorted(files.mapped("name")), ["invoice", "photognp.svg"])
        for attachment in files:
            self.assertNotIn("svg", attachment.mimetype)
            self.assertNotIn("html", attachment.mimetype)
            served = self.url_open(
                f"/web/content/{attachment.id}?access_token={attachment.generate_access_token()[0]}"
            )
            self.assertNotIn("svg", served.headers["Content-Type"])
            self.assertNotIn("html", served.headers["Content-Type"])


@tagged("post_install", "-at_install")
class TestPublicPageLimits(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.channel = self._create_channel(
            "website", name="Landing page", webhook_secret="landing-api-key"
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.params = self.env["ir.config_parameter"].sudo()

    def journal(self):
        return self.Journal.search([("channel_id", "=", self.channel.id)])

    def submit_form(self, n, **extra):
        return self.url_open(
            f"/omnichannel/contact/{self.channel.webhook_key}",
            data=dict(
                {
                    "submission_id": f"page-{n}",
                    "name": f"Elena {n}",
                    "email": f"elena{n}@client.example.org",
                    "message": "Hello",
                },
                **extra,
            ),
        )

    def test_contact_form_over_the_limit_is_429_and_nothing_stored(self):
        self.params.set_param("omnichannel_inbox.rate_limit_per_address", "3")
        partners = self.env["res.partner"].search_count([])
        self.assertEqual(
            [self.submit_form(n).status_code for n in range(3)], [200, 200, 200]
        )
        refused = self.submit_form(3)
        self.assertEqual(refused.status_code, 429)
        self.assertTrue(int(refused.headers["Retry-After"]) >= 1)
        self.assertIn("try again in", refused.text, "a person is told why, on the form")
        self.assertIn("elena3@client.example.org", refused.text, "with what they typed")
        self.assertEqual(len(self.journal()), 3)
        self.assertEqual(
            self.env["res.partner"].search_count([]), partners + 3, "no fourth customer"
        )
        self.assertFalse(
            self.env["res.partner"].search(
                [("email", "=", "elena3@client.example.org")]
            )
        )

    def test_per_channel_limit_counts_every_visitor(self):
        self.params.set_param("omnichannel_inbox.rate_limit_per_address", "0")
        self.params.set_param("omnichannel_inbox.rate_limit_per_channel", "2")
        self.assertEqual(
            [self.submit_form(n).status_code for n in range(3)], [200, 200, 429]
        )
        self.assertEqual(len(self.journal()), 2)
        # Another channel has its own budget.
        other = self._create_channel(
            "website", name="Other page", webhook_secret="other-key"
        )
        self.assertEqual(
            self.url_open(
                f"/omnichannel/contact/{other.webhook_key}",
                data={
                    "name": "Ivan",
                    "email": "ivan@client.example.org",
                    "message": "Hi",
                },
            ).status_code,
            200,
        )

    def test_lead_api_and_widget_are_rate_limited(self):
        self.params.set_param("omnichannel_inbox.rate_limit_per_address", "2")
        answers = [
            self.post_webhook(
                self.channel,
                {
                    "submission_id": f"api-{n}",
                    "email": f"api{n}@client.example.org",
                },
                headers={API_KEY_HEADER: "landing-api-key"},
            ).status_code
            for n in range(3)
        ]
        self.assertEqual(answers, [201, 201, 429])
        self.assertEqual(len(self.journal()), 2)
        # Forged requests count too: a flood of wrong keys is refused early.
        widget = [
            self.url_open(f"/omnichannel/widget/{self.env.company.id}").status_code
            for _n in range(3)
        ]
        self.assertEqual(widget, [200, 200, 429])

    def test_oversized_form_is_refused_before_it_is_read(self):
        self.params.set_param("omnichannel_inbox.max_body_kb", "4")
        response = self.submit_form(1, message="x" * 8192)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.journal())

    def test_contact_form_carries_odoos_captcha_hook(self):
        page = self.url_open(f"/omnichannel/contact/{self.channel.webhook_key}")
        self.assertIn('data-captcha="omnichannel_contact"', page.text)
