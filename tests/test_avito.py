import json

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.omnichannel_inbox.connectors.avito import AvitoConnector

from .fake_avito import (
    CHAT_ID,
    ITEM,
    USER_ID,
    FakeAvitoServer,
    message_notification,
)
from .provider_case import ProviderCase
from .test_telegram import PNG


class AvitoCase(ProviderCase):
    def setUp(self):
        super().setUp()
        AvitoConnector.forget_tokens()
        self.addCleanup(AvitoConnector.forget_tokens)
        self.avito = FakeAvitoServer().start()
        self.addCleanup(self.avito.stop)
        self.channel = self._create_channel(
            "avito",
            name="Avito shop",
            account_ref=str(USER_ID),
            avito_client_id=self.avito.client_id,
            app_secret=self.avito.client_secret,
            api_base_url=self.avito.url,
        )
        self.admin_channel = self.channel.with_user(self.env.ref("base.user_admin"))

    def connect(self):
        self.admin_channel.action_register_webhook()
        return self.avito.webhook_target()

    def notify(self, body, target=None):
        """POST a notification as Avito does, to the subscribed address."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        return self.url_open(
            target or self.connect(),
            data=body,
            headers={"Content-Type": "application/json"},
            allow_redirects=False,
        )


@tagged("post_install", "-at_install")
class TestAvitoWebhook(AvitoCase):
    """Avito notifications through the real webhook."""

    def test_connect_subscribes_the_address_with_our_secret(self):
        target = self.connect()
        self.assertEqual(len(self.avito.tokens), 1, "a token was fetched")
        self.assertEqual(
            target,
            f"/omnichannel/webhook/{self.channel.webhook_key}?secret={self.channel.webhook_secret}",
        )
        self.assertIn("Webhook registered", self.channel.webhook_status)
        self.assertNotIn(self.channel.webhook_secret, self.channel.webhook_status)
        self.assertNotIn(self.avito.tokens[0], self.channel.webhook_status)
        action = self.admin_channel.action_check_webhook()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Мебельный магазин", action["params"]["message"])
        self.assertEqual(len(self.avito.tokens), 1, "the token is reused")
        self.avito.subscriptions.clear()
        action = self.admin_channel.action_check_webhook()
        self.assertEqual(action["params"]["type"], "warning")

    def test_wrong_credentials_are_a_clear_error(self):
        self.channel.app_secret = "wrong"
        with self.assertRaisesRegex(Exception, "refused the client ID and secret"):
            self.admin_channel.action_register_webhook()
        self.assertFalse(self.avito.subscriptions)

    def test_message_opens_a_lead_named_after_the_listing(self):
        body = message_notification("m-1", "Здравствуйте, шкаф ещё продаётся?")
        response = self.notify(body)
        self.assertEqual((response.status_code, response.text), (200, "ok"))
        message = self.last_message()
        self.assertIn("шкаф ещё продаётся", message.body)
        self.assertEqual(message.provider_message_id, "m-1")
        conversation = message.conversation_id
        identity = conversation.identity_id
        self.assertEqual(identity.name, "Анна", "the name comes from the chat")
        self.assertEqual(identity.chat_id, CHAT_ID, "replies go to this chat")
        lead = conversation.lead_id
        self.assertEqual(lead.name, "Avito: " + ITEM["title"])
        self.assertEqual(
            lead.source_id, self.env.ref("omnichannel_inbox.utm_source_avito")
        )
        self.assertEqual(
            lead.campaign_id.name, "Avito {}: {}".format(ITEM["id"], ITEM["title"])
        )
        self.assertIn(ITEM["url"], lead.description)
        # Avito retries: acknowledged, stored once
        self.assertEqual(self.notify(body).text, "ok")
        self.assertEqual(len(self.journal()), 1)
        self.assertEqual(len(self.messages()), 1)
        # another message of the chat: the same lead, nothing renamed
        self.notify(message_notification("m-2", "А доставка есть?"))
        self.assertEqual(len(self.messages()), 2)
        self.assertEqual(self.last_message().conversation_id.lead_id, lead)
        self.assertEqual(lead.name, "Avito: " + ITEM["title"])
        chat_reads = [r for r in self.avito.find("/chats/") if r.method == "GET"]
        self.assertEqual(len(chat_reads), 1, "the chat is read at its first message")

    def test_avito_down_keeps_the_message(self):
        self.connect()
        self.avito.chats.clear()  # the chat cannot be read
        self.notify(message_notification("m-3", "Есть в наличии?"))
        self.assertIn("Есть в наличии?", self.last_message().body)
        self.assertTrue(self.last_message().conversation_id.lead_id)

    def test_image_is_downloaded_from_the_notification(self):
        url = self.avito.add_image("photo.png", PNG)
        self.notify(
            message_notification(
                "m-img",
                kind="image",
                content={"image": {"sizes": {"140x105": url + "?s", "1280x960": url}}},
            )
        )
        message = self.last_message()
        self.assertEqual(message.message_type, "image")
        self.run_downloads()
        self.assertEqual(message.attachment_ids.raw, PNG)

    def test_images_of_other_hosts_are_not_downloaded(self):
        self.notify(
            message_notification(
                "m-evil",
                kind="image",
                content={"image": {"sizes": {"1x1": "https://evil.example.com/x.jpg"}}},
            )
        )
        message = self.last_message()
        self.run_downloads()
        self.assertFalse(message.attachment_ids)

    def test_forged_or_missing_secret_is_refused_and_nothing_stored(self):
        target = self.connect()
        path = target.split("?")[0]
        body = message_notification("m-4", "hi")
        for address in (path, path + "?secret=", path + "?secret=forged"):
            response = self.notify(body, target=address)
            self.assertEqual(response.status_code, 403, address)
            self.assertNotIn(self.channel.webhook_secret, response.text)
        self.channel.webhook_secret = False
        self.assertEqual(self.notify(body, target=path + "?secret=").status_code, 403)
        self.assertFalse(self.journal())

    def test_malformed_bodies(self):
        target = self.connect()
        self.assertEqual(self.notify(b"{not json", target=target).status_code, 400)
        self.assertFalse(self.journal())
        self.assert_kept_unreadable(
            [
                self.notify({"id": "x", "payload": {"value": {}}}, target=target),
                self.notify(
                    {"payload": {"type": "message", "value": {"id": "1"}}},
                    target=target,
                ),
            ],
            "ok",
        )

    def test_system_messages_and_the_address_check_are_ignored(self):
        target = self.connect()
        self.notify(b"{}", target=target)
        self.notify(
            message_notification(
                "m-sys", "Покупатель хочет оформить доставку", kind="system"
            ),
            target=target,
        )
        self.assertEqual(set(self.journal().mapped("state")), {"ignored"})
        self.assertFalse(self.messages())


@tagged("post_install", "-at_install")
class TestAvitoReplies(AvitoCase):
    """Replies from the chat panel through the fake Avito API."""

    def setUp(self):
        super().setUp()
        self.target = self.connect()
        self.notify(message_notification("m-1", "Сколько стоит доставка?"), self.target)
        self.remember_conversation()

    def test_text_reply_and_its_echo(self):
        sent = self.reply("Доставка 500 ₽")
        self.assertEqual(sent["status"], "sent")
        chat_id, delivered = self.avito.sent[-1]
        self.assertEqual(
            (chat_id, delivered["content"]), (CHAT_ID, {"text": "Доставка 500 ₽"})
        )
        message = self.Message.browse(sent["id"])
        self.assertEqual(message.provider_message_id, delivered["id"])
        # Avito notifies our own message too: it confirms it, never a second copy
        echo = message_notification(
            delivered["id"], "Доставка 500 ₽", author_id=USER_ID
        )
        self.assertEqual(self.notify(echo, self.target).text, "ok")
        self.assertEqual(len(self.messages()), 2)
        self.assertEqual(message.status, "sent")
        # written by the seller in Avito's own app: unknown to Odoo, ignored
        self.notify(message_notification("app-1", "Ок", author_id=USER_ID), self.target)
        self.assertEqual(len(self.messages()), 2)
        self.assertEqual(self.journal()[:1].state, "ignored")

    def test_image_reply_is_uploaded_then_sent(self):
        sent = self.reply("Фото шкафа", ("shkaf.png", PNG))
        self.assertEqual(sent["status"], "sent")
        self.assertEqual(list(self.avito.images.values()), [PNG])
        kinds = [m["type"] for _chat, m in self.avito.sent]
        self.assertEqual(kinds, ["text", "image"])

    def test_revoked_token_is_fetched_again(self):
        self.avito.tokens.clear()  # Avito no longer knows the cached token
        sent = self.reply("Ещё вопрос?")
        self.assertEqual(sent["status"], "sent")
        self.assertEqual(len(self.avito.tokens), 1)

    def test_unknown_chat_fails_clearly(self):
        self.avito.chats.clear()
        sent = self.reply("Алло?")
        self.assertEqual(sent["status"], "failed")
        self.assertIn("chat not found", sent["error"])


@tagged("post_install", "-at_install")
class TestAvitoForm(AvitoCase):
    """An administrator sets an Avito account up in the channel form."""

    def test_form_asks_for_the_avito_settings_only(self):
        form = Form(
            self.env(user=self.env.ref("base.user_admin"))["omnichannel.channel"]
        )
        form.name = "Avito 2"
        form.channel_type = "avito"
        form.account_ref = "81743640"
        form.avito_client_id = "client-2"
        form.app_secret = "secret-2"
        for hidden in ("token", "verify_token", "greeting_text"):
            with self.assertRaises(AssertionError, msg=hidden):
                setattr(form, hidden, "x")
        channel = form.save()
        self.assertTrue(channel.can_register_webhook and channel.can_check_webhook)
        self.assertEqual(channel._connector_config().extra["client_id"], "client-2")
        self.assertEqual(
            channel.source_id, self.env.ref("omnichannel_inbox.utm_source_avito")
        )
        self.assertEqual(channel.channel_icon, "fa-tag")

    def test_credentials_are_for_administrators_only(self):
        user = new_test_user(
            self.env, login="avito-salesman", groups="sales_team.group_sale_salesman"
        )
        channel = self.channel.with_user(user)
        for fname in ("avito_client_id", "app_secret", "webhook_secret"):
            with self.assertRaises(AccessError, msg=fname):
                channel.read([fname])
