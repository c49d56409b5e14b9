import hashlib
import json
import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_meta import (
    PNG,
    FakeGraphServer,
    MetaWebhookMixin,
    meta_error,
    sign,
    wa_body,
    wa_message,
    wa_status,
    wa_value,
)
from .panel_uploads import pending_uploads

PHONE_ID = "106540352242922"
WABA_ID = "1029384756"
APP_SECRET = "meta-app-secret"
TOKEN = "EAAG-TEST"
CUSTOMER = "79125554433"


class WhatsAppCase(MetaWebhookMixin, OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.graph = FakeGraphServer(tokens=(TOKEN, "EAAG-SECOND")).start()
        self.addCleanup(self.graph.stop)
        self.graph.nodes[PHONE_ID] = {
            "id": PHONE_ID,
            "display_phone_number": "+7 495 555-01-01",
            "verified_name": "Office Chairs LLC",
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED",
        }
        self.channel = self._create_channel(
            "whatsapp",
            name="WhatsApp sales",
            token=TOKEN,
            app_secret=APP_SECRET,
            verify_token="verify-me",
            account_ref=PHONE_ID,
            whatsapp_business_account_id=WABA_ID,
            api_base_url=self.graph.api_url,
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()

    def journal(self, channel=None):
        return self.Journal.search([("channel_id", "=", (channel or self.channel).id)])

    def messages(self, channel=None):
        return self.Message.search(
            [("channel_id", "=", (channel or self.channel).id)], order="id"
        )

    def last_message(self, channel=None):
        return self.messages(channel)[-1:]

    def receive(
        self, kind, content, msg_id=None, wa_id=CUSTOMER, channel=None, **extra
    ):
        channel = channel or self.channel
        body = wa_message(
            channel.account_ref,
            wa_id,
            msg_id or f"wamid.{time.monotonic_ns()}",
            kind,
            content,
            **extra,
        )
        response = self.post_meta(channel, body)
        self.assertEqual(response.status_code, 200, response.text)
        self.run_downloads()
        return self.last_message(channel)


@tagged("post_install", "-at_install")
class TestWhatsAppWebhook(WhatsAppCase):
    """WhatsApp Cloud API webhooks through the real controller."""

    # -- refusals ----------------------------------------------------------------
    def test_forged_or_missing_signature_is_403_and_nothing_stored(self):
        body = wa_message(PHONE_ID, CUSTOMER, "wamid.forged", "text", {"body": "hi"})
        raw = json.dumps(body).encode()
        cases = {
            "signed with another secret": sign(raw, "not-the-app-secret"),
            "missing header": "",
            "not hex": "sha256=zzz",
            "signature of another body": sign(raw + b" ", APP_SECRET),
            "sha1 of the body": "sha1=" + hashlib.sha1(raw).hexdigest(),
        }
        for label, signature in cases.items():
            response = self.post_meta(self.channel, raw, signature=signature)
            self.assertEqual(response.status_code, 403, label)
            self.assertNotIn(APP_SECRET, response.text)
        self.channel.app_secret = False
        self.assertEqual(
            self.post_meta(self.channel, raw, signature=sign(raw, "")).status_code,
            403,
            "a channel without an app secret accepts nothing",
        )
        self.assertFalse(self.journal())
        self.assertFalse(self.messages())

    def test_verification_handshake(self):
        response = self.handshake(self.channel, "verify-me", challenge="1158201444")
        self.assertEqual((response.status_code, response.text), (200, "1158201444"))
        self.assertEqual(self.handshake(self.channel, "wrong").status_code, 403)
        self.assertEqual(
            self.handshake(self.channel, "verify-me", mode="unsubscribe").status_code,
            403,
        )
        self.channel.verify_token = False
        self.assertEqual(
            self.handshake(self.channel, "").status_code,
            403,
            "no verify token: no subscription",
        )
        plain = self.url_open(f"/omnichannel/webhook/{self.channel.webhook_key}")
        self.assertEqual(plain.status_code, 405)
        self.assertFalse(self.journal())

    def test_malformed_bodies(self):
        for body in ({"object": "page", "entry": []}, b"{not json", b"[]"):
            self.assertEqual(self.post_meta(self.channel, body).status_code, 400, body)
        self.assertFalse(self.journal(), "not a WhatsApp body at all: refused")
        self.assert_kept_unreadable(
            [
                self.post_meta(self.channel, body)
                for body in (
                    {"object": "whatsapp_business_account", "entry": "x"},
                    {
                        "object": "whatsapp_business_account",
                        "entry": [{"id": WABA_ID, "changes": "x"}],
                    },
                )
            ],
            "ok",
        )

    # -- accepted messages ---------------------------------------------------------
    def test_text_message_makes_customer_lead_and_replay_is_ignored(self):
        body = wa_message(
            PHONE_ID,
            CUSTOMER,
            "wamid.HBgLNzkxMjU1NTQ0MzMVAgASGBQzQTk",
            "text",
            {"body": "Есть кресла в наличии?"},
        )
        self.assertEqual(self.post_meta(self.channel, body).status_code, 200)
        self.assertEqual(
            self.post_meta(self.channel, body).status_code,
            200,
            "a redelivery is acknowledged",
        )
        self.assertEqual(len(self.journal()), 1)
        message = self.messages()
        self.assertEqual(len(message), 1, "and stored once")
        self.assertIn("Есть кресла в наличии?", message.body)
        self.assertEqual(
            message.provider_message_id, "wamid.HBgLNzkxMjU1NTQ0MzMVAgASGBQzQTk"
        )
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.name, identity.phone_sanitized),
            (CUSTOMER, "Anna Smirnova", "+79125554433"),
        )
        partner = message.conversation_id.partner_id
        self.assertEqual(
            partner.phone_sanitized,
            "+79125554433",
            "the WhatsApp number is the customer's phone",
        )
        lead = message.conversation_id.lead_id
        self.assertEqual(lead.source_id.name, "WhatsApp")
        self.assertEqual(lead.partner_id, partner)

    def test_media_messages_are_downloaded_through_the_graph_api(self):
        self.graph.add_media("1037543291543636", PNG, "image/jpeg")
        self.graph.add_media("2224567890", b"%PDF-1.7 price list", "application/pdf")
        self.graph.add_media("3334567890", b"OggS-voice-note", "audio/ogg; codecs=opus")
        self.graph.add_media("4444567890", b"\x00\x00\x00\x18ftypmp42", "video/mp4")
        self.graph.add_media("5554567890", b"RIFF----WEBPVP8 ", "image/webp")
        image = self.receive(
            "image",
            {
                "caption": "Вот такое кресло",
                "mime_type": "image/jpeg",
                "sha256": "abc",
                "id": "1037543291543636",
            },
        )
        self.assertEqual(image.message_type, "image")
        self.assertIn("Вот такое кресло", image.body)
        self.assertEqual(image.attachment_ids.raw, PNG)
        self.assertEqual(image.attachment_ids.mimetype, "image/jpeg")
        document = self.receive(
            "document",
            {
                "caption": "",
                "filename": "price.pdf",
                "mime_type": "application/pdf",
                "sha256": "abc",
                "id": "2224567890",
            },
        )
        self.assertEqual(
            (document.message_type, document.attachment_ids.name),
            ("document", "price.pdf"),
        )
        self.assertEqual(document.attachment_ids.raw, b"%PDF-1.7 price list")
        voice = self.receive(
            "audio",
            {
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": "abc",
                "id": "3334567890",
                "voice": True,
            },
        )
        self.assertEqual(voice.message_type, "voice")
        self.assertEqual(voice.attachment_ids.raw, b"OggS-voice-note")
        video = self.receive(
            "video", {"mime_type": "video/mp4", "sha256": "abc", "id": "4444567890"}
        )
        self.assertEqual(
            (video.message_type, video.attachment_ids.mimetype), ("video", "video/mp4")
        )
        sticker = self.receive(
            "sticker",
            {
                "mime_type": "image/webp",
                "sha256": "abc",
                "id": "5554567890",
                "animated": False,
            },
        )
        self.assertEqual(sticker.message_type, "sticker")
        # Each file: GET /<media id> for its URL, then that URL, both with the token.
        self.assertEqual(len(self.graph.api_calls("GET", "1037543291543636")), 1)
        downloads = [
            r
            for r in self.graph.requests
            if r.path.startswith("/whatsapp_business/attachments/")
        ]
        self.assertEqual(len(downloads), 5)
        self.assertTrue(
            all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in downloads)
        )

    def test_media_not_downloadable_yet_is_retried(self):
        message = self.receive(
            "document",
            {"filename": "late.pdf", "mime_type": "application/pdf", "id": "999"},
            msg_id="wamid.late",
        )
        self.assertTrue(
            message, "Meta does not know the media yet: the message is there without it"
        )
        self.assertEqual(self.journal().state, "done")
        download = message.download_ids
        self.assertEqual(download.state, "pending")
        self.assertIn("does not exist", download.error_message)
        self.graph.add_media("999", b"%PDF late", "application/pdf")
        download.next_attempt_date = "2000-01-01 00:00:00"
        self.run_downloads()
        self.assertEqual(download.state, "done")
        self.assertEqual(message.attachment_ids.raw, b"%PDF late")

    def test_location_interactive_button_reaction_and_unsupported(self):
        location = self.receive(
            "location",
            {
                "latitude": 55.7558,
                "longitude": 37.6173,
                "name": "Склад",
                "address": "Москва, ул. Складская, 1",
            },
        )
        self.assertEqual(location.message_type, "location")
        self.assertIn("openstreetmap.org/?mlat=55.7558", location.body)
        self.assertIn("Склад", location.body)
        button = self.receive(
            "interactive",
            {
                "type": "button_reply",
                "button_reply": {"id": "yes", "title": "Да, звоните"},
            },
        )
        self.assertIn("Да, звоните", button.body)
        self.assertIn("Button reply", button.body)
        listed = self.receive(
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {
                    "id": "office",
                    "title": "Офисные",
                    "description": "Кресла для офиса",
                },
            },
        )
        self.assertIn("Офисные - Кресла для офиса", listed.body)
        quick = self.receive("button", {"payload": "STOP", "text": "Не интересно"})
        self.assertIn("Не интересно", quick.body)
        self.assertIn("Template button reply", quick.body)
        reaction = self.receive(
            "reaction", {"message_id": button.provider_message_id, "emoji": "👍"}
        )
        self.assertIn("👍", reaction.body)
        self.assertIn("Reaction to an earlier message", reaction.body)
        unsupported = self.receive(
            "unsupported",
            None,
            errors=[
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {
                        "details": "Message type is currently not supported."
                    },
                }
            ],
        )
        self.assertIn("cannot be shown here", unsupported.body)
        forwarded = self.receive(
            "text", {"body": "Смотрите"}, context={"forwarded": True}
        )
        self.assertIn("Forwarded", forwarded.body)
        self.assertEqual(
            len(self.messages().conversation_id), 1, "all in one conversation"
        )

    def test_system_messages_and_other_fields_are_journaled_as_ignored(self):
        system = wa_body(
            WABA_ID,
            wa_value(
                PHONE_ID,
                messages=[
                    {
                        "from": CUSTOMER,
                        "id": "wamid.sys",
                        "timestamp": str(int(time.time())),
                        "type": "system",
                        "system": {
                            "body": "User A changed from 79125554433 to 79125554434",
                            "wa_id": "79125554434",
                            "type": "user_changed_number",
                        },
                    }
                ],
            ),
        )
        self.assertEqual(self.post_meta(self.channel, system).status_code, 200)
        quality = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA_ID,
                    "changes": [
                        {
                            "field": "phone_number_quality_update",
                            "value": {
                                "display_phone_number": "15550783881",
                                "event": "FLAGGED",
                                "current_limit": "TIER_1K",
                            },
                        }
                    ],
                }
            ],
        }
        self.assertEqual(self.post_meta(self.channel, quality).status_code, 200)
        self.assertEqual(self.journal().mapped("state"), ["ignored", "ignored"])
        self.assertFalse(self.messages())

    def test_shared_contact_of_a_third_person_is_only_a_card(self):
        known = self.env["res.partner"].create(
            {
                "name": "Anna (from the shop)",
                "phone": "+7 916 000 11 22",
                "email": "anna@example.com",
            }
        )
        card = self.receive(
            "contacts",
            [
                {
                    "name": {"formatted_name": "Anna Smirnova", "first_name": "Anna"},
                    "phones": [
                        {
                            "phone": "+7 916 000-11-22",
                            "type": "CELL",
                            "wa_id": "79160001122",
                        }
                    ],
                    "emails": [{"email": "anna@example.com", "type": "WORK"}],
                }
            ],
        )
        self.assertEqual(card.message_type, "contact")
        self.assertIn("Shared contact", card.body)
        self.assertNotEqual(
            card.conversation_id.partner_id,
            known,
            "another person's card: the sender is unchanged",
        )
        self.assertFalse(card.conversation_id.identity_id.suggestion_ids)
        self.assertEqual(
            card.conversation_id.identity_id.phone_sanitized, "+79125554433"
        )
        self.assertEqual(
            (card.card_name, card.card_phone, card.card_email),
            ("Anna Smirnova", "+7 916 000-11-22", "anna@example.com"),
        )

    def test_customer_known_by_phone_on_another_channel_is_the_same_customer(self):
        """Cross-channel: Anna typed her phone on the Sandbox chat (a claim);
        her first WhatsApp message (the number WhatsApp vouches for) is
        suggested as the same customer, and joins her partner and open lead
        once a salesperson confirms."""
        sandbox = self._create_channel("sandbox", name="Website chat")
        self._journal_and_process(
            sandbox,
            [
                self._sandbox_event(
                    "visitor-1", "Нужны кресла", name="Anna", phone="8 (912) 555-44-33"
                )
            ],
        )
        first = self.Message.search([("channel_id", "=", sandbox.id)])
        partner, lead = first.conversation_id.partner_id, first.conversation_id.lead_id
        message = self.receive("text", {"body": "Это Анна, пишу в WhatsApp"})
        self.assertNotEqual(
            message.conversation_id.partner_id,
            partner,
            "whoever typed the phone first does not receive the WhatsApp messages",
        )
        suggestion = message.conversation_id.identity_id.suggestion_ids
        self.assertEqual(suggestion.partner_id, partner)
        suggestion.action_confirm()
        self.assertEqual(message.conversation_id.partner_id, partner)
        self.assertEqual(
            message.conversation_id.lead_id, lead, "one open lead for one person"
        )
        self.assertEqual(
            self.env["crm.lead"].search_count([("partner_id", "=", partner.id)]), 1
        )
        history = self.Message.panel_fetch("crm.lead", lead.id)
        self.assertEqual(
            {m["channel_type"] for m in history["messages"]}, {"sandbox", "whatsapp"}
        )

    # -- statuses ------------------------------------------------------------------
    def test_statuses_update_our_message_even_out_of_order(self):
        self.receive("text", {"body": "Привет"})
        conversation = self.last_message().conversation_id
        reply = conversation._post_reply(
            "Здравствуйте!", user=self.env.ref("base.user_admin")
        )
        self.assertEqual(reply.status, "sent")
        wamid = reply.provider_message_id
        self.assertTrue(wamid.startswith("wamid."))
        self.post_meta(self.channel, wa_status(PHONE_ID, wamid, "read", CUSTOMER))
        self.assertEqual(reply.status, "read")
        self.post_meta(self.channel, wa_status(PHONE_ID, wamid, "delivered", CUSTOMER))
        self.assertEqual(
            reply.status, "read", 'a late "delivered" does not undo "read"'
        )
        self.post_meta(self.channel, wa_status(PHONE_ID, wamid, "read", CUSTOMER))
        self.assertEqual(
            len(self.journal().filtered(lambda r: r.event_kind == "status")),
            2,
            "a redelivered status is journaled once",
        )

    def test_failed_status_carries_meta_error(self):
        self.receive("text", {"body": "Привет"})
        conversation = self.last_message().conversation_id
        reply = conversation._post_reply("Ответ", user=self.env.ref("base.user_admin"))
        self.post_meta(
            self.channel,
            wa_status(
                PHONE_ID,
                reply.provider_message_id,
                "failed",
                CUSTOMER,
                errors=[
                    {
                        "code": 131026,
                        "title": "Message undeliverable",
                        "message": "Message undeliverable",
                        "error_data": {"details": "Message Undeliverable."},
                        "href": "https://developers.facebook.com/docs/",
                    }
                ],
            ),
        )
        self.assertEqual(reply.status, "failed")
        self.assertEqual(reply.error_code, "131026")
        self.assertIn("Message undeliverable", reply.error_message)
        panel = self.Message.panel_fetch("omnichannel.conversation", conversation.id)
        self.assertIn(
            "Message undeliverable",
            panel["messages"][0]["error"],
            "visible in the chat",
        )

    # -- several numbers behind one app --------------------------------------------
    def test_event_for_another_number_of_the_app_goes_to_that_number(self):
        second = self._create_channel(
            "whatsapp",
            name="WhatsApp support",
            token="EAAG-SECOND",
            app_secret=APP_SECRET,
            verify_token="v2",
            account_ref="200000000000002",
            api_base_url=self.graph.api_url,
        )
        body = wa_message(
            "200000000000002",
            CUSTOMER,
            "wamid.for-second",
            "text",
            {"body": "Поддержка?"},
        )
        self.assertEqual(self.post_meta(self.channel, body).status_code, 200)
        self.assertFalse(self.journal())
        self.assertEqual(
            self.last_message(second).provider_message_id, "wamid.for-second"
        )
        stranger = wa_message(
            "300000000000003", CUSTOMER, "wamid.for-nobody", "text", {"body": "?"}
        )
        self.post_meta(self.channel, stranger)
        row = self.journal()
        self.assertEqual(row.state, "ignored")
        self.assertIn("300000000000003", row.note)


@tagged("post_install", "-at_install")
class TestWhatsAppReplies(WhatsAppCase):
    """Replies, templates and administration against the fake Graph API."""

    def setUp(self):
        super().setUp()
        self.admin = self.env.ref("base.user_admin")
        self.receive("text", {"body": "Сколько стоит доставка?"}, msg_id="wamid.first")
        self.conversation = self.last_message().conversation_id
        self.lead = self.conversation.lead_id

    def test_reply_from_the_lead_goes_to_the_number_the_customer_wrote_to(self):
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Доставка бесплатная"
        )
        self.assertEqual(sent["status"], "sent")
        call = self.graph.api_calls("POST", f"{PHONE_ID}/messages")[-1]
        self.assertEqual(call.headers["Authorization"], f"Bearer {TOKEN}")
        self.assertEqual(
            call.json(),
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": CUSTOMER,
                "type": "text",
                "text": {"preview_url": False, "body": "Доставка бесплатная"},
            },
        )
        self.assertTrue(
            self.Message.browse(sent["id"]).provider_message_id.startswith("wamid.")
        )

    def test_two_numbers_each_reply_from_its_own_number(self):
        second = self._create_channel(
            "whatsapp",
            name="WhatsApp support",
            token="EAAG-SECOND",
            app_secret=APP_SECRET,
            verify_token="v2",
            account_ref="200000000000002",
            api_base_url=self.graph.api_url,
        )
        self.receive("text", {"body": "И ещё вопрос в поддержку"}, channel=second)
        other = self.last_message(second).conversation_id
        self.assertEqual(
            other.partner_id,
            self.conversation.partner_id,
            "same person on both numbers",
        )
        self.assertNotEqual(other, self.conversation)
        history = self.Message.panel_fetch("crm.lead", self.lead.id)
        self.assertEqual(
            history["default_conversation_id"], other.id, "the number she last wrote to"
        )
        self.assertEqual(
            {c["channel_name"] for c in history["conversations"]},
            {"WhatsApp sales", "WhatsApp support"},
        )
        self.Message.panel_send(
            "crm.lead", self.lead.id, other.id, text="Ответ поддержки"
        )
        self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Ответ продаж"
        )
        support = self.graph.api_calls("POST", "200000000000002/messages")
        sales = self.graph.api_calls("POST", f"{PHONE_ID}/messages")
        self.assertEqual(
            [c.json()["text"]["body"] for c in support], ["Ответ поддержки"]
        )
        self.assertEqual([c.json()["text"]["body"] for c in sales], ["Ответ продаж"])
        self.assertEqual(
            support[0].headers["Authorization"],
            "Bearer EAAG-SECOND",
            "with that number's token",
        )

    def test_files_are_uploaded_then_sent_by_media_id(self):
        sent = self.Message.panel_send(
            "crm.lead",
            self.lead.id,
            self.conversation.id,
            text="Счёт и фото",
            attachment_ids=pending_uploads(
                self.env, ("invoice.pdf", b"%PDF invoice"), ("chair.png", PNG)
            ).ids,
        )
        self.assertEqual(sent["status"], "sent")
        uploads = self.graph.api_calls("POST", f"{PHONE_ID}/media")
        self.assertEqual(
            [u.files["file"][:2] for u in uploads],
            [("invoice.pdf", b"%PDF invoice"), ("chair.png", PNG)],
        )
        self.assertEqual(
            uploads[0].fields,
            {"messaging_product": "whatsapp", "type": "application/pdf"},
        )
        document, image = [
            c.json() for c in self.graph.api_calls("POST", f"{PHONE_ID}/messages")
        ]
        self.assertEqual(document["type"], "document")
        self.assertEqual(document["document"]["filename"], "invoice.pdf")
        self.assertEqual(
            document["document"]["caption"],
            "Счёт и фото",
            "the text rides on the first file",
        )
        self.assertEqual(
            self.graph.media[document["document"]["id"]][0], b"%PDF invoice"
        )
        self.assertEqual(image["type"], "image")
        self.assertNotIn("caption", image["image"])

    def test_provider_error_is_shown_on_the_message(self):
        self.graph.fail(
            "POST",
            f"{PHONE_ID}/messages",
            400,
            meta_error(
                131030,
                "(#131030) Recipient phone number not in allowed list",
                details="Recipient phone number not in allowed list: "
                "Add recipient phone number to recipient list "
                "and try again.",
            ),
        )
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Алло?"
        )
        self.assertEqual(sent["status"], "failed")
        self.assertIn("Recipient phone number not in allowed list", sent["error"])
        message = self.Message.browse(sent["id"])
        self.assertEqual(message.error_code, "131030")
        self.assertFalse(message.next_send_date, "a refusal is not retried")

    def test_rate_limit_is_retried_later(self):
        self.graph.fail(
            "POST",
            f"{PHONE_ID}/messages",
            400,
            meta_error(
                130429,
                "(#130429) Rate limit hit",
                details="Cloud API message throughput has been reached.",
            ),
        )
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Позже"
        )
        self.assertEqual(sent["status"], "queued")
        message = self.Message.browse(sent["id"])
        self.assertTrue(message.next_send_date)
        self.graph.failures.clear()
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")

    def test_invalid_token_is_explained(self):
        self.channel.token = "EAAG-EXPIRED"
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Тест"
        )
        self.assertEqual(sent["status"], "failed")
        self.assertIn("Invalid OAuth access token", sent["error"])

    # -- the 24-hour customer-service window ---------------------------------------
    def old_conversation(self, *hours_ago, wa_id="79160007788"):
        """A customer (not the one of setUp) whose messages were sent
        ``hours_ago``, as Meta dates them."""
        for hours in hours_ago:
            self.receive(
                "text",
                {"body": f"Сообщение {hours} ч. назад"},
                wa_id=wa_id,
                name="Boris Orlov",
                timestamp=time.time() - hours * 3600,
            )
        return self.last_message().conversation_id

    def test_window_is_counted_from_the_customer_last_message(self):
        conversation = self.old_conversation(30, 25)
        # Our own recent message does not reopen the window: only the customer's does.
        self.Message.create(
            {
                "conversation_id": conversation.id,
                "direction": "out",
                "author_kind": "employee",
                "status": "delivered",
                "date": fields.Datetime.now() - timedelta(hours=1),
            }
        )
        conversation.last_employee_message_date = fields.Datetime.now() - timedelta(
            hours=1
        )
        with self.assertRaises(UserError) as refusal:
            conversation._post_reply("Вы ещё здесь?", user=self.admin)
        self.assertIn(
            "within 24 hours of the customer's last message", str(refusal.exception)
        )
        self.assertIn("approved message template", str(refusal.exception))
        self.assertFalse(
            self.graph.api_calls("POST", f"{PHONE_ID}/messages"), "nothing left"
        )
        panel = self.Message.panel_fetch("omnichannel.conversation", conversation.id)
        target = panel["conversations"][0]
        self.assertIn("24 hours", target["reply_refusal"], "the composer explains why")
        self.receive(
            "text",
            {"body": "Да, я здесь"},
            wa_id="79160007788",
            timestamp=time.time() - 23 * 3600,
        )
        self.assertEqual(
            conversation._post_reply("Отлично", user=self.admin).status,
            "sent",
            "the customer wrote within 24 hours: free text again",
        )

    def _template(self, **vals):
        values = {
            "name": "order_follow_up",
            "language": "ru",
            "channel_id": self.channel.id,
            "category": "utility",
            "body": (
                "Здравствуйте, {{1}}! Это {{2}} из Office Chairs. Удобно "
                "продолжить разговор?"
            ),
        }
        values.update(vals)
        template = self.env["omnichannel.whatsapp.template"].create(values)
        first, second = template.variable_ids.sorted("sequence")
        first.field_path = "partner_id.name"
        second.write({"field_path": "user_id.name", "default_value": "менеджер"})
        return template

    def test_template_is_offered_and_sent_with_filled_variables(self):
        template = self._template()
        conversation = self.old_conversation(26)
        lead = conversation.lead_id
        panel = self.Message.panel_fetch("crm.lead", lead.id)
        offered = panel["conversations"][0]["templates"]
        self.assertEqual([t["id"] for t in offered], [template.id])
        self.assertEqual(
            offered[0]["preview"],
            "Здравствуйте, Boris Orlov! Это менеджер из Office Chairs. Удобно "
            "продолжить разговор?",
            "no salesperson yet: the fixed text fills {{2}}",
        )
        lead.user_id = self.admin
        sent = self.Message.panel_send_template(
            "crm.lead", lead.id, conversation.id, template.id
        )
        self.assertEqual(sent["status"], "sent")
        self.assertIn(
            f"Это {self.admin.name} из Office Chairs",
            sent["body"],
            "the history shows what the customer got",
        )
        payload = self.graph.api_calls("POST", f"{PHONE_ID}/messages")[-1].json()
        self.assertEqual(payload["type"], "template")
        self.assertEqual(payload["to"], "79160007788")
        self.assertEqual(
            payload["template"],
            {
                "name": "order_follow_up",
                "language": {"code": "ru"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Boris Orlov"},
                            {"type": "text", "text": self.admin.name},
                        ],
                    }
                ],
            },
        )
        message = self.Message.browse(sent["id"])
        self.post_meta(
            self.channel,
            wa_status(
                PHONE_ID, message.provider_message_id, "delivered", "79160007788"
            ),
        )
        self.assertEqual(message.status, "delivered")
        with self.assertRaises(
            UserError,
            msg="free text is still refused: only the customer reopens the window",
        ):
            conversation._post_reply("Ну как?", user=self.admin)

    def test_named_template_parameters(self):
        template = self.env["omnichannel.whatsapp.template"].create(
            {
                "name": "greeting_named",
                "language": "en_US",
                "channel_id": self.channel.id,
                "parameter_format": "named",
                "header_text": "Hi {{customer_name}}",
                "body": "Your manager {{manager}} will call {{customer_name}} today.",
            }
        )
        self.assertEqual(
            [(v.component, v.key) for v in template.variable_ids.sorted("sequence")],
            [
                ("header", "customer_name"),
                ("body", "manager"),
                ("body", "customer_name"),
            ],
        )
        template.variable_ids.filtered(lambda v: v.key == "customer_name").write(
            {"field_path": "partner_id.name"}
        )
        template.variable_ids.filtered(lambda v: v.key == "manager").write(
            {"default_value": "Olga"}
        )
        self.old_conversation(30)._post_whatsapp_template(template, user=self.admin)
        payload = self.graph.api_calls("POST", f"{PHONE_ID}/messages")[-1].json()[
            "template"
        ]
        self.assertEqual(
            payload["components"],
            [
                {
                    "type": "header",
                    "parameters": [
                        {
                            "type": "text",
                            "text": "Boris Orlov",
                            "parameter_name": "customer_name",
                        }
                    ],
                },
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Olga", "parameter_name": "manager"},
                        {
                            "type": "text",
                            "text": "Boris Orlov",
                            "parameter_name": "customer_name",
                        },
                    ],
                },
            ],
        )

    def test_salesperson_sends_a_template_from_their_lead(self):
        """With a salesperson's rights (not an admin's): the panel offers the
        templates and sends one; the channel's secrets stay out of reach."""
        template = self._template()
        seller = self.env["res.users"].create(
            {
                "name": "Olga Seller",
                "login": "olga.seller",
                "email": "olga@example.com",
                "group_ids": [
                    (6, 0, [self.env.ref("sales_team.group_sale_salesman").id])
                ],
            }
        )
        conversation = self.old_conversation(40)
        conversation.lead_id.user_id = seller
        Message = self.env["omnichannel.message"].with_user(seller)
        offered = Message.panel_fetch("crm.lead", conversation.lead_id.id)[
            "conversations"
        ][0]["templates"]
        self.assertIn("Это Olga Seller из Office Chairs", offered[0]["preview"])
        sent = Message.panel_send_template(
            "crm.lead", conversation.lead_id.id, conversation.id, template.id
        )
        self.assertEqual(sent["status"], "sent")
        self.assertEqual(
            self.graph.api_calls("POST", f"{PHONE_ID}/messages")[-1].json()["template"][
                "name"
            ],
            "order_follow_up",
        )
        with self.assertRaises(AccessError):
            self.channel.with_user(seller).read(["token"])

    def test_template_without_a_value_is_refused_clearly(self):
        template = self._template()
        template.variable_ids.write(
            {"field_path": "partner_id.website", "default_value": False}
        )
        with self.assertRaises(UserError) as refusal:
            self.conversation._post_whatsapp_template(template, user=self.admin)
        self.assertIn("no value for Body {{1}}, Body {{2}}", str(refusal.exception))
        template.status = "pending"
        with self.assertRaises(UserError):
            self.conversation._post_whatsapp_template(template, user=self.admin)
        self.assertFalse(self.graph.api_calls("POST", f"{PHONE_ID}/messages"))

    def test_templates_are_read_from_the_business_account(self):
        self.graph.templates[WABA_ID] = [
            {
                "name": "order_follow_up",
                "language": "ru",
                "status": "APPROVED",
                "category": "UTILITY",
                "id": "111",
                "parameter_format": "POSITIONAL",
                "components": [
                    {
                        "type": "BODY",
                        "text": "Здравствуйте, {{1}}! Заказ {{2}} готов.",
                        "example": {"body_text": [["Анна", "A-1"]]},
                    },
                    {"type": "FOOTER", "text": "Office Chairs"},
                ],
            },
            {
                "name": "spring_sale",
                "language": "ru",
                "status": "APPROVED",
                "category": "MARKETING",
                "id": "222",
                "components": [
                    {
                        "type": "HEADER",
                        "format": "IMAGE",
                        "example": {"header_handle": ["4::aW1h"]},
                    },
                    {"type": "BODY", "text": "Скидки весной"},
                ],
            },
            {
                "name": "welcome",
                "language": "en_US",
                "status": "PENDING",
                "category": "UTILITY",
                "id": "333",
                "parameter_format": "NAMED",
                "components": [
                    {
                        "type": "BODY",
                        "text": "Welcome {{first_name}}",
                        "example": {
                            "body_text_named_params": [
                                {"param_name": "first_name", "example": "Anna"}
                            ]
                        },
                    },
                    {
                        "type": "BUTTONS",
                        "buttons": [{"type": "QUICK_REPLY", "text": "OK"}],
                    },
                ],
            },
        ]
        self.channel.with_user(self.admin).action_sync_whatsapp_templates()
        self.assertEqual(
            len(self.graph.api_calls("GET", f"{WABA_ID}/message_templates")),
            2,
            "both pages read",
        )
        templates = self.channel.whatsapp_template_ids
        self.assertEqual(
            sorted(templates.mapped("name")),
            ["order_follow_up", "spring_sale", "welcome"],
        )
        follow_up = templates.filtered(lambda t: t.name == "order_follow_up")
        self.assertEqual(
            (follow_up.status, follow_up.footer_text, follow_up.meta_template_id),
            ("approved", "Office Chairs", "111"),
        )
        self.assertEqual(follow_up.variable_ids.mapped("key"), ["1", "2"])
        self.assertIn(
            "IMAGE",
            templates.filtered(
                lambda t: t.name == "spring_sale"
            ).unsupported_reason.upper(),
        )
        welcome = templates.filtered(lambda t: t.name == "welcome")
        self.assertEqual(
            (welcome.status, welcome.parameter_format), ("pending", "named")
        )
        # A mapping survives the next sync; a template Meta dropped is archived.
        follow_up.variable_ids[0].field_path = "partner_id.name"
        del self.graph.templates[WABA_ID][2]
        self.channel.with_user(self.admin).action_sync_whatsapp_templates()
        self.assertEqual(follow_up.variable_ids[0].field_path, "partner_id.name")
        self.assertFalse(welcome.active)
        lead = self.old_conversation(25).lead_id
        offered = self.Message.panel_fetch("crm.lead", lead.id)["conversations"][0][
            "templates"
        ]
        self.assertEqual(
            [t["name"] for t in offered],
            ["order_follow_up (ru)"],
            "only what can be sent is offered",
        )
        self.assertEqual(offered[0]["missing"], "Body {{2}}")

    # -- administration ------------------------------------------------------------
    def test_register_webhook_is_verified_by_meta_and_check_connection_shows_it(self):
        channel = self.channel.with_user(self.admin)
        with self.allow_requests(
            all_requests=True
        ):  # Meta (the fake) calls our webhook back
            channel.action_register_webhook()
        self.assertTrue(self.graph.api_calls("POST", f"{WABA_ID}/subscribed_apps"))
        override = self.graph.api_calls("POST", PHONE_ID)[-1].json()
        self.assertEqual(
            override["webhook_configuration"]["override_callback_uri"],
            self.channel.webhook_url,
        )
        action = channel.action_check_webhook()
        text = action["params"]["message"]
        self.assertIn("Office Chairs LLC (+7 495 555-01-01)", text)
        self.assertIn("GREEN", text)
        self.assertIn("Delivers to this channel: yes", text)
        self.assertEqual(action["params"]["type"], "success")
        # Odoo's public address is wrong: Meta's own check of our URL fails, and says
        # so.
        self.env["ir.config_parameter"].sudo().set_param(
            "web.base.url", "http://127.0.0.1:9"
        )
        self.channel.invalidate_recordset(["webhook_url"])
        with self.assertRaises(UserError) as refusal:
            channel.action_register_webhook()
        self.assertIn("Callback verification failed", str(refusal.exception))

    def test_check_connection_shows_meta_refusal(self):
        self.channel.token = "EAAG-EXPIRED"
        action = self.channel.with_user(self.admin).action_check_webhook()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Invalid OAuth access token", action["params"]["message"])
        self.assertNotIn("EAAG-EXPIRED", action["params"]["message"])
