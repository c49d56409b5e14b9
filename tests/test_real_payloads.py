"""What providers really send, beyond the happy path of their documentation:
bodies shaped like the real-world cases (older clients, usernames instead of
phone numbers, groups, service messages, business accounts, ads, edits and
deletions, older API versions, PBX notifications that are not calls), posted
signed through the real webhook; each test checks what the salesperson sees."""

import datetime
import json
import time
import urllib.parse

from odoo import fields
from odoo.tests import tagged

from odoo.addons.omnichannel_inbox import connectors

from .common import OmnichannelHttpCase
from .fake_meta import wa_body, wa_value
from .fake_telegram import FakeTelegramServer, tg_update, tg_user
from .fake_vk import GROUP_ID, vk_event
from .fake_zadarma import sign as zadarma_sign
from .test_calls import MSK, CallsCase
from .test_messenger import IGSID, MessagingCase
from .test_sms import CHANNEL_NUMBER, SmsCase
from .test_telegram import SECRET_HEADER
from .test_vk import VkCase
from .test_whatsapp import PHONE_ID, WhatsAppCase


def lead_utm(lead):
    # utm records are found by name whatever the case ("vk" is the existing
    # "VK" source): compared in lower case.
    return tuple(
        (name or "").lower()
        for name in (lead.source_id.name, lead.medium_id.name, lead.campaign_id.name)
    )


@tagged("post_install", "-at_install")
class TestTelegramRealUpdates(OmnichannelHttpCase):
    """Telegram updates as older clients and Telegram's own examples send them."""

    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="123:REAL").start()
        self.addCleanup(self.bot_api.stop)
        self.channel = self._create_channel(
            "telegram",
            name="Real bot",
            token="123:REAL",
            webhook_secret="tg-real",
            api_base_url=self.bot_api.url,
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()

    def send(self, update, secret="tg-real"):
        return self.post_webhook(self.channel, update, headers={SECRET_HEADER: secret})

    def journal(self):
        return self.Journal.search([("channel_id", "=", self.channel.id)])

    def last_message(self):
        return self.Message.search(
            [("channel_id", "=", self.channel.id)], order="id desc", limit=1
        )

    def test_user_without_is_bot_is_a_customer_message(self):
        user = {
            "id": 3527065,
            "first_name": "Nic",
            "last_name": "Pottier",
            "username": "Nicpottier",
        }
        update = tg_update(
            500,
            user=user,
            caption="Photo Caption",
            photo=[{"file_id": "small", "width": 90, "height": 60, "file_size": 1000}],
        )
        self.bot_api.add_file("small", b"\xff\xd8\xff jpeg", "photos/file_0.jpg")
        response = self.send(update)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.journal().state, "done")
        message = self.last_message()
        self.assertIn("Photo Caption", message.body)
        self.run_downloads()  # the file follows its message (download queue)
        self.assertEqual(
            message.attachment_ids.raw,
            b"\xff\xd8\xff jpeg",
            "the file without file_unique_id is fetched",
        )
        self.assertEqual(message.conversation_id.identity_id.name, "Nic Pottier")

    def test_group_chat_is_journaled_as_ignored(self):
        update = tg_update(501, text="/report spam")
        update["message"]["chat"] = {
            "id": -1001276785818,
            "type": "supergroup",
            "title": "Buyers club",
        }
        self.assertEqual(self.send(update).status_code, 200)
        row = self.journal()
        self.assertEqual(row.state, "ignored")
        self.assertIn("supergroup", row.note)
        self.assertFalse(self.last_message(), "no conversation, no lead for a group")
        self.assertFalse(
            self.env["crm.lead"].search([("partner_id.name", "=", "Anna Smirnova")])
        )

    def test_service_messages_are_not_empty_customer_messages(self):
        self.send(tg_update(502, text="hello"))
        self.send(tg_update(503, dice={"emoji": "🎲", "value": 2}))
        self.send(
            tg_update(
                504,
                pinned_message={
                    "message_id": 502,
                    "date": 1,
                    "chat": {"id": 5550001, "type": "private"},
                    "text": "hello",
                },
            )
        )
        rows = self.journal().sorted("provider_event_id")
        self.assertEqual(rows.mapped("state"), ["done", "ignored", "ignored"])
        self.assertIn("dice", rows[1].note)
        self.assertIn("pinned_message", rows[2].note)
        self.assertEqual(
            len(self.Message.search([("channel_id", "=", self.channel.id)])), 1
        )

    def test_start_payload_becomes_the_lead_utm(self):
        # Hand-written names point at utm records the company made: a
        # payload is anyone's to type, it creates none (test_telegram_deeplink).
        self.env["utm.source"].create([{"name": "instagram"}, {"name": "flyer"}])
        self.env["utm.medium"].create({"name": "bio"})
        self.env["utm.campaign"].create({"name": "spring_sale"})
        self.send(tg_update(505, text="/start instagram__bio__spring_sale"))
        lead = self.last_message().conversation_id.lead_id
        self.assertEqual(lead_utm(lead), ("instagram", "bio", "spring_sale"))
        # A later link click of the same customer does not rewrite the campaign.
        self.send(tg_update(506, text="/start vk__post__autumn"))
        self.assertEqual(lead.campaign_id.name, "spring_sale")
        # A payload of one part is the source only.
        other = tg_user(5550002, "Boris", "Ivanov", "boris")
        self.send(tg_update(507, user=other, text="/start flyer"))
        lead2 = self.last_message().conversation_id.lead_id
        self.assertEqual(lead_utm(lead2)[0], "flyer")
        self.assertNotEqual(lead2, lead)

    def test_edit_that_removes_the_caption_keeps_the_text(self):
        self.bot_api.add_file("ph1", b"\xff\xd8\xff jpeg", "photos/file_1.jpg")
        photo = [
            {
                "file_id": "ph1",
                "file_unique_id": "u1",
                "width": 10,
                "height": 10,
                "file_size": 8,
            }
        ]
        self.send(
            tg_update(520, message_id=88, caption="Моя кухня, 3 метра", photo=photo)
        )
        original = self.last_message()
        self.send(tg_update(521, message_id=88, edited=True, photo=photo))
        self.assertEqual(self.journal().mapped("state"), ["done", "done"])
        self.assertIn("Моя кухня, 3 метра", original.body)
        self.assertEqual(
            len(self.Message.search([("channel_id", "=", self.channel.id)])), 1
        )

    def test_business_message_is_answered_through_the_connection(self):
        user = tg_user(5550003, "Clara", "Business", "clara")
        message = {
            "message_id": 9,
            "from": user,
            "date": int(time.time()),
            "text": "Is the sofa in stock?",
            "chat": {"id": 5550003, "type": "private", "first_name": "Clara"},
            "business_connection_id": "BC-77",
        }
        self.assertEqual(
            self.send({"update_id": 508, "business_message": message}).status_code, 200
        )
        # The owner's own answer in the business chat is not the customer speaking.
        owner = dict(
            message,
            message_id=10,
            text="Yes",
            **{"from": tg_user(777, "Owner", "", "owner")},
        )
        self.send({"update_id": 509, "business_message": owner})
        self.send(
            {
                "update_id": 510,
                "business_connection": {
                    "id": "BC-77",
                    "user": tg_user(777, "Owner", "", "owner"),
                    "user_chat_id": 777,
                    "date": 1,
                    "is_enabled": True,
                },
            }
        )
        states = self.journal().sorted("provider_event_id").mapped("state")
        self.assertEqual(states, ["done", "ignored", "ignored"])
        received = self.last_message()
        self.assertIn("Is the sofa in stock?", received.body)
        received.conversation_id._post_reply("Yes, it is.")
        call = self.bot_api.calls("sendMessage")[-1]
        self.assertEqual(call.fields["business_connection_id"], "BC-77")
        self.assertEqual(str(call.fields["chat_id"]), "5550003")

    def test_refused_secret_stores_nothing_for_the_new_shapes(self):
        user = {"id": 1111111, "first_name": "Test"}
        response = self.send(
            tg_update(511, user=user, text="/start a__b__c"), secret="forged"
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.journal())
        self.assertFalse(self.env["utm.campaign"].search([("name", "=", "c")]))


@tagged("post_install", "-at_install")
class TestWhatsAppRealPayloads(WhatsAppCase):
    def post_value(self, messages, contacts):
        response = self.post_meta(
            self.channel,
            wa_body(
                "1029384756", wa_value(PHONE_ID, messages=messages, contacts=contacts)
            ),
        )
        self.assertEqual(response.status_code, 200, response.text)

    def test_username_user_without_phone_is_a_customer_and_is_answered(self):
        self.post_value(
            [
                {
                    "from_user_id": "US.13491208655302741918",
                    "id": "wamid.bsuid1",
                    "type": "text",
                    "timestamp": str(int(time.time())),
                    "text": {"body": "Привет, есть диваны?"},
                }
            ],
            [
                {
                    "profile": {"name": "Kerry", "username": "kerry"},
                    "user_id": "US.13491208655302741918",
                }
            ],
        )
        message = self.last_message()
        self.assertIn("Привет, есть диваны?", message.body)
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.name),
            ("US.13491208655302741918", "Kerry"),
        )
        self.assertFalse(identity.phone, "a username is no phone number")
        message.conversation_id._post_reply("Да, есть.")
        sent = self.graph.api_calls("POST", f"{PHONE_ID}/messages")[-1].json()
        self.assertEqual(sent.get("recipient"), "US.13491208655302741918")
        self.assertNotIn("to", sent)

    def test_phone_and_user_id_keep_the_phone_identity(self):
        self.post_value(
            [
                {
                    "from": "79125554433",
                    "from_user_id": "US.1",
                    "id": "wamid.both",
                    "type": "text",
                    "timestamp": str(int(time.time())),
                    "text": {"body": "hi"},
                }
            ],
            [{"profile": {"name": "Anna"}, "wa_id": "79125554433", "user_id": "US.1"}],
        )
        identity = self.last_message().conversation_id.identity_id
        self.assertEqual(identity.provider_user_id, "79125554433")
        self.assertTrue(identity.phone)

    def test_edit_and_revoke_apply_to_the_original(self):
        original = self.receive(
            "text", {"body": "Нужно 10 кресел"}, msg_id="wamid.orig"
        )
        self.post_value(
            [
                {
                    "from": "79125554433",
                    "id": "wamid.edit1",
                    "type": "edit",
                    "timestamp": str(int(time.time())),
                    "edit": {
                        "original_message_id": "wamid.orig",
                        "message": {
                            "type": "text",
                            "text": {"body": "Нужно 12 кресел"},
                        },
                    },
                }
            ],
            [{"profile": {"name": "Anna"}, "wa_id": "79125554433"}],
        )
        self.assertEqual(len(self.messages()), 1, "an edit is not a new message")
        self.assertIn("Нужно 12 кресел", original.body)
        self.assertIn("Edited by the customer", original.body)
        self.assertTrue(original.is_edited)
        self.post_value(
            [
                {
                    "from": "79125554433",
                    "id": "wamid.rev1",
                    "type": "revoke",
                    "timestamp": str(int(time.time())),
                    "revoke": {"original_message_id": "wamid.orig"},
                }
            ],
            [{"profile": {"name": "Anna"}, "wa_id": "79125554433"}],
        )
        self.assertTrue(original.is_revoked)
        self.assertIn("deleted this message", original.body)
        self.assertIn(
            "Нужно 12 кресел", original.body, "the text is kept for the record"
        )
        self.assertEqual(len(self.messages()), 1)

    def test_group_message_is_ignored_with_a_reason(self):
        self.post_value(
            [
                {
                    "from": "79125554433",
                    "group_id": "555555555",
                    "id": "wamid.group",
                    "type": "text",
                    "timestamp": str(int(time.time())),
                    "text": {"body": "Hello group"},
                }
            ],
            [{"profile": {"name": "Anna"}, "wa_id": "79125554433"}],
        )
        row = self.journal()
        self.assertEqual(row.state, "ignored")
        self.assertIn("group", row.note)
        self.assertFalse(self.messages())

    def test_click_to_whatsapp_ad_becomes_the_lead_utm(self):
        message = self.receive(
            "text",
            {"body": "Хочу это кресло"},
            referral={
                "source_url": "https://fb.me/3cr4Wqqkv",
                "source_id": "120226305854810726",
                "source_type": "ad",
                "headline": "Кресло Comfort -20%",
                "body": "Только неделю",
                "media_type": "image",
                "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
            },
        )
        lead = message.conversation_id.lead_id
        self.assertEqual(lead_utm(lead), ("facebook", "ad", "кресло comfort -20%"))
        self.assertIn("Came from an ad", message.body)


@tagged("post_install", "-at_install")
class TestMetaReferralsAndEdits(MessagingCase):
    def test_ad_referral_in_the_first_message_is_the_lead_utm(self):
        message = self.page_event(
            message={
                "mid": "m_ad1",
                "text": "Price?",
                "referral": {
                    "source": "ADS",
                    "type": "OPEN_THREAD",
                    "ad_id": "6045246247433",
                    "ads_context_data": {
                        "ad_title": "Winter chairs",
                        "photo_url": "https://example.com/p.jpg",
                    },
                },
            }
        )
        self.assertEqual(
            lead_utm(message.conversation_id.lead_id)[1:], ("ad", "winter chairs")
        )

    def test_get_started_with_mme_ref_and_later_referral(self):
        message = self.page_event(
            postback={
                "title": "Get Started",
                "payload": "GET_STARTED",
                "referral": {
                    "ref": "vk__post__black_friday",
                    "source": "SHORTLINK",
                    "type": "OPEN_THREAD",
                },
            }
        )
        lead = message.conversation_id.lead_id
        self.assertEqual(lead_utm(lead), ("vk", "post", "black_friday"))
        # Later, the same customer clicks an ad into the existing thread: the
        # open lead keeps its first campaign and says where they came from.
        self.page_event(
            referral={
                "source": "ADS",
                "type": "OPEN_THREAD",
                "ad_id": "777",
                "ads_context_data": {"ad_title": "Spring"},
            }
        )
        row = self.Journal.search(
            [("channel_id", "=", self.messenger.id), ("event_kind", "=", "referral")]
        )
        self.assertEqual(row.state, "done")
        self.assertEqual(lead.campaign_id.name, "black_friday")
        self.assertIn("Spring", lead.message_ids[:1].body)

    def test_referral_and_optin_without_a_conversation_are_ignored_with_a_reason(self):
        self.page_event(
            referral={"ref": "promo", "source": "SHORTLINK", "type": "OPEN_THREAD"}
        )
        self.page_event(
            optin={
                "type": "notification_messages",
                "payload": "3456",
                "title": "Bird Facts",
                "notification_messages_token": "tok",
            }
        )
        rows = self.Journal.search([("channel_id", "=", self.messenger.id)])
        self.assertEqual(rows.mapped("state"), ["ignored", "ignored"])
        self.assertTrue(all("no open lead" in note for note in rows.mapped("note")))
        self.assertFalse(self.messages(self.messenger))

    def test_optin_before_the_first_message_describes_its_lead(self):
        self.page_event(
            optin={
                "type": "notification_messages",
                "payload": "3456",
                "title": "Bird Facts",
                "notification_messages_token": "tok",
            }
        )
        optin = self.Journal.search([("channel_id", "=", self.messenger.id)])
        self.assertEqual(optin.state, "ignored")
        message = self.page_event(message={"mid": "m_after_optin", "text": "Hello"})
        self.assertEqual(
            lead_utm(message.conversation_id.lead_id)[1:], ("opt-in", "bird facts")
        )
        self.assertEqual(
            (optin.state, optin.conversation_id), ("done", message.conversation_id)
        )
        # Taken once: the next message does not touch the lead again.
        lead = message.conversation_id.lead_id
        count = len(lead.message_ids)
        self.page_event(message={"mid": "m_after_optin2", "text": "Hello again"})
        self.assertEqual(len(lead.message_ids), count)

    def test_instagram_edit_without_text_keeps_the_original_and_unsent_marks_it(self):
        original = self.page_event(
            self.instagram,
            sender=IGSID,
            message={"mid": "ig_m1", "text": "Есть синий цвет?"},
        )
        self.page_event(
            self.instagram, sender=IGSID, message_edit={"mid": "ig_m1", "num_edit": 0}
        )
        self.assertIn("Есть синий цвет?", original.body)
        self.assertFalse(original.is_edited)
        edit = self.Journal.search(
            [
                ("channel_id", "=", self.instagram.id),
                ("provider_event_id", "like", "edit:%"),
            ]
        )
        self.assertEqual(edit.state, "ignored")
        self.page_event(
            self.instagram, sender=IGSID, message={"mid": "ig_m1", "is_deleted": True}
        )
        self.assertTrue(original.is_revoked)
        self.assertIn("Есть синий цвет?", original.body)
        self.assertEqual(len(self.messages(self.instagram)), 1)

    def test_messenger_edit_with_empty_text_is_not_applied(self):
        original = self.page_event(message={"mid": "m_e1", "text": "Need 10 chairs"})
        self.page_event(message_edit={"mid": "m_e1", "text": "", "num_edit": 1})
        self.assertIn("Need 10 chairs", original.body)
        self.assertFalse(original.is_edited)


@tagged("post_install", "-at_install")
class TestVkOlderApiAndButtons(VkCase):
    def test_event_of_api_before_5_80_is_a_message(self):
        event = {
            "type": "message_new",
            "group_id": GROUP_ID,
            "secret": "vk-secret-key",
            "event_id": "legacy1",
            "object": {
                "id": 3,
                "date": int(time.time()),
                "out": 0,
                "user_id": 326596496,
                "read_state": 0,
                "title": "",
                "body": "Ну как?",
            },
        }
        response = self.send(event)
        self.assertEqual((response.status_code, response.text), (200, "ok"))
        message = self.last_message()
        self.assertIn("Ну как?", message.body)
        self.assertEqual(
            message.conversation_id.identity_id.provider_user_id, "326596496"
        )
        self.assertEqual(message.conversation_id.identity_id.chat_id, "326596496")

    def test_callback_button_press_is_acknowledged(self):
        event = vk_event(
            "message_event",
            {
                "user_id": 5550101,
                "peer_id": 5550101,
                "event_id": "1776a756b921",
                "payload": {"button": "week"},
                "conversation_message_id": 130,
            },
            event_id="press1",
        )
        response = self.send(event)
        self.assertEqual((response.status_code, response.text), (200, "ok"))
        self.assertEqual(self.vk.answered_presses[-1]["event_id"], "1776a756b921")
        self.assertEqual(str(self.vk.answered_presses[-1]["peer_id"]), "5550101")
        row = self.journal()
        self.assertEqual(row.state, "done")
        self.assertIn("week", row.note)
        self.assertFalse(self.messages(), "a press is not a customer message")

    def test_forged_legacy_event_is_refused(self):
        event = {
            "type": "message_new",
            "group_id": GROUP_ID,
            "secret": "guess",
            "event_id": "legacy2",
            "object": {"id": 4, "date": 1, "out": 0, "user_id": 1, "body": "x"},
        }
        self.assertEqual(self.send(event).status_code, 403)
        self.assertFalse(self.journal())


@tagged("post_install", "-at_install")
class TestTwilioWhatsAppSenders(SmsCase):
    def test_whatsapp_sender_phone_without_prefix_and_reply_through_whatsapp(self):
        from .fake_twilio import incoming_sms

        params = incoming_sms(
            "whatsapp:+14133881111",
            "whatsapp:" + CHANNEL_NUMBER,
            "Msg",
            ProfileName="Dana",
        )
        self.assertEqual(self.send(params).status_code, 200)
        message = self.last_message()
        identity = message.conversation_id.identity_id
        self.assertEqual(
            identity.provider_user_id,
            "whatsapp:+14133881111",
            "the channel identity stays whole",
        )
        self.assertEqual(identity.phone_sanitized, "+14133881111")
        self.assertEqual(identity.name, "Dana")
        message.conversation_id._post_reply("Hello Dana")
        request = [
            r for r in self.twilio.requests if r.path.endswith("/Messages.json")
        ][-1]
        self.assertEqual(request.fields["To"], "whatsapp:+14133881111")
        self.assertTrue(request.fields["From"].startswith("whatsapp:+1"))

    def test_whatsapp_username_sender_has_no_phone(self):
        from .fake_twilio import incoming_sms

        params = incoming_sms(
            "whatsapp:US.1234",
            "whatsapp:" + CHANNEL_NUMBER,
            "Hi",
            ExternalUserId="whatsapp:US.1234",
        )
        self.assertEqual(self.send(params).status_code, 200)
        identity = self.last_message().conversation_id.identity_id
        self.assertEqual(identity.provider_user_id, "whatsapp:US.1234")
        self.assertFalse(identity.phone)


@tagged("post_install", "-at_install")
class TestZadarmaSmsAndTranscripts(CallsCase):
    def setUp(self):
        super().setUp()
        self.zadarma, self.line = self._zadarma_line()

    def notify_result(self, event, result, secret="zd-secret"):
        data = {"event": event, "result": json.dumps(result, ensure_ascii=False)}
        body = urllib.parse.urlencode(data).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Signature": zadarma_sign(data["result"], secret),
        }
        response = self.post_webhook(self.line, body, headers=headers)
        self.env.invalidate_all()
        return response

    def test_sms_lands_in_the_customer_history(self):
        result = {
            "caller_id": "79123456789",
            "caller_did": "74951234567",
            "text": "Перезвоните мне, пожалуйста",
        }
        self.assertEqual(self.notify_result("SMS", result).status_code, 200)
        self.assertEqual(
            self.notify_result("SMS", result).status_code,
            200,
            "a retry is acknowledged",
        )
        rows = self.journal(self.line)
        self.assertEqual((len(rows), rows.state), (1, "done"))
        message = rows.message_id
        self.assertIn("Перезвоните мне, пожалуйста", message.body)
        self.assertEqual(
            message.conversation_id.partner_id,
            self.customer,
            "the known customer, by phone",
        )

    def test_forged_sms_is_refused_and_nothing_stored(self):
        result = {"caller_id": "79123456789", "text": "x"}
        self.assertEqual(
            self.notify_result("SMS", result, secret="guess").status_code, 403
        )
        self.assertFalse(self.journal(self.line))

    def test_speech_recognition_is_stored_on_the_call_and_shown(self):
        when = datetime.datetime.now(
            MSK
        )  # inside the replay window of call notifications
        call_fields = {
            "pbx_call_id": "in-77",
            "caller_id": "89123456789",
            "called_did": "74951234567",
            "call_start": when.strftime("%Y-%m-%d %H:%M:%S"),
        }
        # The transcript may arrive before the call is known: it waits, then applies.
        transcript = {
            "lang": "ru-RU",
            "call_id": "1751274310.2671",
            "pbx_call_id": "in-77",
            "voicemail": False,
            "result": {
                "phrases": [
                    {"result": "Здравствуйте, хочу заказать диван", "channel": 1}
                ]
            },
        }
        self.assertEqual(
            self.notify_result("SPEECH_RECOGNITION", transcript).status_code, 200
        )
        row = self.journal(self.line)
        self.assertEqual(row.state, "error")
        body, headers = self.zadarma.notification("NOTIFY_START", **call_fields)
        self.post_webhook(self.line, body, headers=headers)
        row.write({"next_attempt_date": fields.Datetime.now()})
        row._process()
        self.env.invalidate_all()
        self.assertEqual(row.state, "done")
        call = self.calls(self.line)
        self.assertEqual(call.transcript, "Здравствуйте, хочу заказать диван")
        self.assertIn("Здравствуйте, хочу заказать диван", call.message_id.body)

    def test_connector_reads_empty_recognition(self):
        connector = connectors.get_connector_class("zadarma")(
            connectors.ChannelConfig(app_secret="s")
        )
        data = {
            "event": "SPEECH_RECOGNITION",
            "result": json.dumps({"pbx_call_id": "x1", "result": {"words": []}}),
        }
        events = connector.parse({}, urllib.parse.urlencode(data).encode(), {})
        self.assertEqual(
            (events[0].kind, events[0].call_id, events[0].transcript),
            ("call_transcript", "x1", ""),
        )
