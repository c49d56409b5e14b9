import urllib.parse

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .fake_smsc import (
    API_KEY,
    LOGIN,
    PASSWORD,
    FakeSmscServer,
    handler_request,
    incoming_sms,
    status_callback,
)
from .provider_case import ProviderCase

CUSTOMER = "+79125554433"
ACK = "ok"


class SmscCase(ProviderCase):
    def setUp(self):
        super().setUp()
        self.smsc = FakeSmscServer().start()
        self.addCleanup(self.smsc.stop)
        self.channel = self._create_channel(
            "sms_smsc",
            name="SMSC line",
            smsc_login=LOGIN,
            token=PASSWORD,
            smsc_sender="MebelShop",
            api_base_url=self.smsc.url,
        )

    def handler_path(self, secret=None):
        """The handler address the administrator entered at SMSC.ru (its
        query: the charset and our secret), as a path of this server."""
        url = urllib.parse.urlsplit(self.channel.smsc_callback_url)
        query = dict(urllib.parse.parse_qsl(url.query))
        if secret is not None:
            query["secret"] = secret
            if not secret:
                del query["secret"]
        return url.path + "?" + urllib.parse.urlencode(query)

    def callback(self, fields, secret=None):
        """SMSC.ru POSTs ``fields`` to the handler address."""
        data, headers = handler_request(fields)
        return self.url_open(
            self.handler_path(secret),
            data=data,
            headers=headers,
            allow_redirects=False,
        )


@tagged("post_install", "-at_install")
class TestSmscInbound(SmscCase):
    """Incoming SMS to the SMSC.ru virtual number and the handler's secret."""

    def test_incoming_sms_creates_the_conversation_and_lead_once(self):
        fields = incoming_sms(9001, CUSTOMER, "Здравствуйте, есть ли шкаф в наличии?")
        response = self.callback(fields)
        self.assertEqual((response.status_code, response.text), (200, ACK))
        self.assertEqual(
            self.callback(fields).status_code, 200, "an SMSC.ru retry is acknowledged"
        )
        self.assertEqual(len(self.journal()), 1, "a retry makes no duplicate")
        self.assertEqual(len(self.messages()), 1)
        message = self.last_message()
        self.assertIn("Здравствуйте, есть ли шкаф в наличии?", message.body)
        identity = message.conversation_id.identity_id
        self.assertEqual(
            identity.provider_user_id, CUSTOMER, "the number is the identity"
        )
        partner = message.conversation_id.partner_id
        self.assertEqual(partner.phone_sanitized, CUSTOMER)
        lead = message.conversation_id.lead_id
        self.assertTrue(lead)
        self.assertEqual(
            lead.source_id, self.env.ref("omnichannel_inbox.utm_source_sms_smsc")
        )
        self.assertEqual(self.channel.channel_kind, "sms")

    def test_known_customer_is_found_by_the_vouched_phone(self):
        known = self.env["res.partner"].create(
            {"name": "Anna Smirnova", "phone": "8 (912) 555-44-33"}
        )
        self.callback(incoming_sms(9002, CUSTOMER, "Добрый день"))
        self.assertEqual(self.last_message().conversation_id.partner_id, known)

    def test_wrong_or_missing_secret_is_refused_and_nothing_stored(self):
        fields = incoming_sms(9004, CUSTOMER, "hello")
        self.assertEqual(self.callback(fields, secret="forged").status_code, 403)
        self.assertEqual(self.callback(fields, secret="").status_code, 403)
        body, headers = handler_request(fields, charset="cp1251")
        path = self.handler_path().replace("charset=utf-8", "charset=windows-1251")
        self.assertEqual(
            self.url_open(path, data=body, headers=headers).status_code,
            403,
            "windows-1251 (SMSC default) arrives garbled: the address must ask UTF-8",
        )
        self.channel.webhook_secret = False
        self.assertEqual(
            self.url_open(
                f"/omnichannel/webhook/{self.channel.webhook_key}?secret=",
                data=handler_request(fields)[0],
                headers=handler_request(fields)[1],
            ).status_code,
            403,
            "no secret configured: nothing is accepted",
        )
        self.assertFalse(self.journal())
        self.assertFalse(self.messages())

    def test_malformed_body_is_refused_and_unreadable_form_kept(self):
        # (sent as text: Odoo parses, and re-encodes, any form-encoded body)
        response = self.url_open(
            self.handler_path(),
            data=b"{not a form at all}",
            headers={"Content-Type": "text/plain"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.journal())
        self.assert_kept_unreadable(
            [self.callback({"phone": "79125554433", "mes": "no id"})], ACK
        )


@tagged("post_install", "-at_install")
class TestSmscReplies(SmscCase):
    """Replies to the fake SMSC.ru and its delivery statuses."""

    def setUp(self):
        super().setUp()
        self.callback(incoming_sms(9100, CUSTOMER, "Сколько стоит доставка?"))
        self.remember_conversation()

    def test_reply_reaches_smsc_and_statuses_come_back(self):
        sent = self.reply("Доставка по Москве — 500 ₽")
        self.assertEqual(sent["status"], "sent")
        form = self.smsc.messages[-1]
        self.assertEqual(
            (form["login"], form["psw"], form["phones"], form["sender"]),
            (LOGIN, PASSWORD, CUSTOMER, "MebelShop"),
        )
        self.assertEqual(form["mes"], "Доставка по Москве — 500 ₽")
        self.assertEqual((form["charset"], form["fmt"]), ("utf-8", "3"))
        message = self.Message.browse(sent["id"])
        self.assertEqual(message.provider_message_id, form["id"])
        self.callback(status_callback(form["id"], CUSTOMER, 0))
        self.assertEqual(message.status, "sent")
        delivered = status_callback(form["id"], CUSTOMER, 1)
        self.callback(delivered)
        self.assertEqual(message.status, "delivered")
        self.assertEqual(self.callback(delivered).status_code, 200)
        self.assertEqual(
            len(self.journal().filtered(lambda e: e.event_kind == "status")),
            2,
            "a retried status is not applied twice",
        )

    def test_failed_status_shows_the_reason(self):
        sent = self.reply("Offer")
        message = self.Message.browse(sent["id"])
        self.callback(
            status_callback(message.provider_message_id, CUSTOMER, 20, err="1")
        )
        self.assertEqual((message.status, message.error_code), ("failed", "1"))
        self.assertEqual(message.error_message, "The subscriber does not exist")

    def test_forged_status_is_refused(self):
        sent = self.reply("Offer")
        message = self.Message.browse(sent["id"])
        response = self.callback(
            status_callback(message.provider_message_id, CUSTOMER, 1), secret="x"
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(message.status, "sent")

    def test_smsc_refusal_is_shown(self):
        self.smsc.failure = (7, "invalid number")
        sent = self.reply("Hello?")
        self.assertEqual(sent["status"], "failed")
        self.assertIn("invalid number", sent["error"])
        self.assertEqual(self.Message.browse(sent["id"]).error_code, "7")

    def test_empty_balance_is_retried(self):
        self.smsc.failure = (3, "no money")
        sent = self.reply("Are you there?")
        self.assertEqual(sent["status"], "queued")
        message = self.Message.browse(sent["id"])
        self.smsc.failure = None
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")
        self.assertEqual(len(self.smsc.messages), 1)

    def test_blacklisted_number_is_not_answered(self):
        self.env["phone.blacklist"].sudo()._add([CUSTOMER])
        with self.assertRaisesRegex(UserError, "SMS blacklist"):
            self.reply("Hello")
        self.assertFalse(self.smsc.messages)

    def test_api_key_alone_authenticates(self):
        self.channel.write({"smsc_login": False, "token": API_KEY})
        self.assertEqual(self.reply("With a key")["status"], "sent")
        form = self.smsc.messages[-1]
        self.assertEqual(form["apikey"], API_KEY)
        self.assertNotIn("login", form)


@tagged("post_install", "-at_install")
class TestSmscSettings(SmscCase):
    """The configuration form, its Check connection button and its secrets."""

    def test_form_and_check_connection(self):
        admin_env = self.env(user=self.env.ref("base.user_admin"))
        form = Form(admin_env["omnichannel.channel"])
        form.name = "SMSC.ru"
        form.channel_type = "sms_smsc"
        form.smsc_login = LOGIN
        form.token = PASSWORD
        form.smsc_sender = "MebelShop"
        form.api_base_url = self.smsc.url
        with self.assertRaises(AssertionError):
            form.app_secret = "x"
        channel = form.save()
        self.assertIn("charset=utf-8", channel.smsc_callback_url)
        self.assertIn(
            urllib.parse.urlencode({"secret": channel.webhook_secret}),
            channel.smsc_callback_url,
        )
        action = channel.action_smsc_check_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("1520.50 RUR", action["params"]["message"])
        channel.token = "wrong"
        action = channel.action_smsc_check_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("SMSC.ru error 2", action["params"]["message"])

    def test_secrets_are_for_administrators(self):
        user = new_test_user(
            self.env,
            login="smsc_agent",
            groups="base.group_user,omnichannel_inbox.group_omnichannel_user",
        )
        channel = self.channel.with_user(user)
        self.assertEqual(channel.name, "SMSC line")
        for fname in ("token", "smsc_login", "smsc_callback_url", "webhook_secret"):
            with self.assertRaises(AccessError, msg=fname):
                channel.read([fname])
