import json
import time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_meta import (
    PNG,
    FakeGraphServer,
    MetaWebhookMixin,
    messaging_body,
    messaging_item,
    meta_error,
    sign,
)
from .panel_uploads import pending_uploads

PAGE_ID = "1122334455"
IG_ID = "17841400000000001"
APP_SECRET = "page-app-secret"
PAGE_TOKEN = "EAAG-PAGE"
IG_TOKEN = "IGAA-TEST"
PSID = "6543210987654321"
IGSID = "9988776655443322"


class MessagingCase(MetaWebhookMixin, OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.graph = FakeGraphServer(
            tokens=(PAGE_TOKEN, IG_TOKEN, "EAAG-PAGE-2")
        ).start()
        self.addCleanup(self.graph.stop)
        self.graph.nodes[PAGE_ID] = {"id": PAGE_ID, "name": "Office Chairs"}
        self.graph.nodes[IG_ID] = {
            "id": IG_ID,
            "username": "office.chairs",
            "name": "Office Chairs",
        }
        self.graph.nodes[PSID] = {
            "id": PSID,
            "first_name": "Peter",
            "last_name": "Ivanov",
        }
        self.graph.nodes[IGSID] = {
            "id": IGSID,
            "name": "Maria K",
            "username": "maria.k",
        }
        self.messenger = self._create_channel(
            "messenger",
            name="Facebook page",
            token=PAGE_TOKEN,
            app_secret=APP_SECRET,
            verify_token="fb-verify",
            account_ref=PAGE_ID,
            api_base_url=self.graph.api_url,
        )
        self.instagram = self._create_channel(
            "instagram",
            name="Instagram",
            token=IG_TOKEN,
            app_secret=APP_SECRET,
            verify_token="ig-verify",
            account_ref=IG_ID,
            api_base_url=self.graph.api_url,
        )
        self.Message = self.env["omnichannel.message"].sudo()
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.admin = self.env.ref("base.user_admin")

    def messages(self, channel):
        return self.Message.search([("channel_id", "=", channel.id)], order="id")

    def page_event(self, channel=None, sender=PSID, timestamp_ms=None, **event):
        channel = channel or self.messenger
        product = "page" if channel.channel_type == "messenger" else "instagram"
        body = messaging_body(
            product,
            channel.account_ref,
            messaging_item(sender, channel.account_ref, timestamp_ms, **event),
        )
        response = self.post_meta(channel, body)
        self.assertEqual(response.status_code, 200, response.text)
        return self.messages(channel)[-1:]


@tagged("post_install", "-at_install")
class TestMessengerWebhook(MessagingCase):
    def test_forged_signature_and_handshake(self):
        body = messaging_body(
            "page",
            PAGE_ID,
            messaging_item(PSID, PAGE_ID, message={"mid": "m_1", "text": "hi"}),
        )
        raw = json.dumps(body).encode()
        self.assertEqual(
            self.post_meta(
                self.messenger, raw, signature=sign(raw, "forged")
            ).status_code,
            403,
        )
        self.assertEqual(
            self.post_meta(self.messenger, raw, signature="").status_code, 403
        )
        self.assertEqual(
            self.post_meta(self.instagram, raw).status_code,
            400,
            "a page body is not an Instagram one",
        )
        self.assertFalse(
            self.Journal.search(
                [("channel_id", "in", (self.messenger | self.instagram).ids)]
            )
        )
        self.assertEqual(
            self.handshake(self.messenger, "fb-verify", challenge="42").text, "42"
        )
        self.assertEqual(
            self.handshake(self.messenger, "ig-verify").status_code,
            403,
            "each channel its own token",
        )

    def test_text_message_names_the_customer_and_replay_is_ignored(self):
        item = {
            "message": {
                "mid": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8"
                "ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
                "text": "Здравствуйте, кресла есть?",
            }
        }
        message = self.page_event(**item)
        self.page_event(**item)
        self.assertEqual(len(self.messages(self.messenger)), 1)
        self.assertIn("кресла есть", message.body)
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.name),
            (PSID, "Peter Ivanov"),
            "the name comes from the profile API, asked once",
        )
        self.assertEqual(
            message.conversation_id.lead_id.source_id.name, "Facebook Messenger"
        )
        self.page_event(message={"mid": "m_2", "text": "Ау"})
        self.assertEqual(len(self.graph.api_calls("GET", PSID)), 1)

    def test_attachments_are_downloaded_during_processing(self):
        image_url = self.graph.add_cdn_file("photo_123.jpg", PNG, "image/jpeg")
        file_url = self.graph.add_cdn_file("spec.pdf", b"%PDF spec", "application/pdf")
        message = self.page_event(
            message={
                "mid": "m_att",
                "attachments": [
                    {"type": "image", "payload": {"url": image_url}},
                    {"type": "file", "payload": {"url": file_url}},
                ],
            }
        )
        self.run_downloads()
        self.assertEqual(message.message_type, "image")
        self.assertEqual(
            sorted(message.attachment_ids.mapped("name")), ["photo_123.jpg", "spec.pdf"]
        )
        self.assertEqual(
            message.attachment_ids.filtered(lambda a: a.name == "spec.pdf").raw,
            b"%PDF spec",
        )
        self.assertFalse(
            any(
                "Authorization" in r.headers
                for r in self.graph.requests
                if r.path.startswith("/cdn/")
            ),
            "the page token is never sent to a CDN",
        )

    def test_echoes_are_ignored_and_postbacks_reactions_edits_are_shown(self):
        echo = messaging_body(
            "page",
            PAGE_ID,
            messaging_item(
                PAGE_ID,
                PSID,
                message={
                    "mid": "m_echo",
                    "is_echo": True,
                    "app_id": 1517776481860111,
                    "text": "Our own reply",
                },
            ),
        )
        self.post_meta(self.messenger, echo)
        self.assertFalse(self.messages(self.messenger))
        self.assertEqual(
            self.Journal.search([("channel_id", "=", self.messenger.id)]).state,
            "ignored",
        )
        postback = self.page_event(
            postback={"mid": "m_pb", "title": "Узнать цены", "payload": "PRICES"}
        )
        self.assertIn("Узнать цены", postback.body)
        self.assertIn("Button pressed", postback.body)
        reaction = self.page_event(
            reaction={
                "mid": "m_pb",
                "action": "react",
                "reaction": "love",
                "emoji": "❤",
            }
        )
        self.assertIn("❤", reaction.body)
        self.assertIn("Reaction to an earlier message", reaction.body)
        original = self.page_event(message={"mid": "m_edit", "text": "Нужно 10 кресел"})
        self.page_event(
            message_edit={"mid": "m_edit", "text": "Нужно 12 кресел", "num_edit": 1}
        )
        original.invalidate_recordset()
        self.assertTrue(original.is_edited)
        self.assertIn("12 кресел", original.body)

    def test_delivery_and_read_update_statuses_in_any_order(self):
        self.page_event(message={"mid": "m_in", "text": "Привет"})
        conversation = self.messages(self.messenger).conversation_id
        first = conversation._post_reply("Первый ответ", user=self.admin)
        second = conversation._post_reply("Второй ответ", user=self.admin)
        self.assertEqual((first.status, second.status), ("sent", "sent"))
        later = int(time.time() * 1000) + 2000
        # Read (watermark) arrives before delivery: both are read, and stay so.
        self.page_event(read={"watermark": later})
        self.assertEqual((first.status, second.status), ("read", "read"))
        self.page_event(
            delivery={"mids": [first.provider_message_id], "watermark": later}
        )
        self.assertEqual(first.status, "read")
        third = conversation._post_reply("Третий", user=self.admin)
        self.page_event(
            delivery={"mids": [third.provider_message_id], "watermark": later + 5000}
        )
        self.assertEqual(third.status, "delivered")

    def test_reply_uses_the_send_api_with_the_page_token(self):
        self.page_event(message={"mid": "m_in", "text": "Привет"})
        lead = self.messages(self.messenger).lead_id
        conversation = self.messages(self.messenger).conversation_id
        sent = self.Message.panel_send(
            "crm.lead",
            lead.id,
            conversation.id,
            text="Добрый день!",
            attachment_ids=pending_uploads(self.env, ("chair.png", PNG)).ids,
        )
        self.assertEqual(sent["status"], "sent")
        upload, text = self.graph.api_calls("POST", "me/messages")
        self.assertEqual(upload.headers["Authorization"], f"Bearer {PAGE_TOKEN}")
        self.assertEqual(json.loads(upload.fields["recipient"]), {"id": PSID})
        self.assertEqual(
            json.loads(upload.fields["message"]),
            {"attachment": {"type": "image", "payload": {"is_reusable": False}}},
        )
        self.assertEqual(upload.fields["messaging_type"], "RESPONSE")
        self.assertEqual(upload.files["filedata"][:2], ("chair.png", PNG))
        self.assertEqual(
            text.json(),
            {
                "messaging_type": "RESPONSE",
                "recipient": {"id": PSID},
                "message": {"text": "Добрый день!"},
            },
        )
        self.assertTrue(
            self.Message.browse(sent["id"]).provider_message_id.startswith("m_")
        )

    def test_send_api_error_is_shown(self):
        self.page_event(message={"mid": "m_in", "text": "Привет"})
        conversation = self.messages(self.messenger).conversation_id
        self.graph.fail(
            "POST",
            "me/messages",
            400,
            meta_error(
                10,
                "(#10) This message is sent outside of allowed window.",
                subcode=2018278,
            ),
        )
        message = conversation._post_reply("Ответ", user=self.admin)
        self.assertEqual(message.status, "failed")
        self.assertEqual(message.error_code, "10/2018278")
        self.assertIn("outside of allowed window", message.error_message)
        self.graph.fail(
            "POST",
            "me/messages",
            400,
            meta_error(551, "This person isn't available right now.", subcode=1545041),
        )
        conversation._post_reply("Ещё раз", user=self.admin)
        self.assertTrue(
            conversation.identity_id.unreachable,
            "Meta says the person cannot be reached",
        )

    def test_messaging_window_is_explained(self):
        day_and_hour_ago = int((time.time() - 25 * 3600) * 1000)
        self.page_event(
            message={"mid": "m_old", "text": "Вчера писал"},
            timestamp_ms=day_and_hour_ago,
        )
        conversation = self.messages(self.messenger).conversation_id
        with self.assertRaises(UserError) as refusal:
            conversation._post_reply("Извините за задержку", user=self.admin)
        self.assertIn(
            "Facebook Messenger lets a business answer only within 24 hours",
            str(refusal.exception),
        )
        self.assertFalse(self.graph.api_calls("POST", "me/messages"))
        # With Meta's Human Agent permission a person may answer for 7 days, tagged.
        self.messenger.meta_human_agent = True
        message = conversation._post_reply("Извините за задержку", user=self.admin)
        self.assertEqual(message.status, "sent")
        body = self.graph.api_calls("POST", "me/messages")[-1].json()
        self.assertEqual(
            (body["messaging_type"], body["tag"]), ("MESSAGE_TAG", "HUMAN_AGENT")
        )
        self.page_event(
            sender="111222333",
            message={"mid": "m_week", "text": "Неделю назад"},
            timestamp_ms=int((time.time() - 8 * 24 * 3600) * 1000),
        )
        old = self.messages(self.messenger)[-1].conversation_id
        with self.assertRaises(UserError) as refusal:
            old._post_reply("Ответ", user=self.admin)
        self.assertIn("within 7 days", str(refusal.exception))

    def test_two_pages_of_one_app_each_reply_from_their_page(self):
        second = self._create_channel(
            "messenger",
            name="Second page",
            token="EAAG-PAGE-2",
            app_secret=APP_SECRET,
            verify_token="x",
            account_ref="5566778899",
            api_base_url=self.graph.api_url,
        )
        # The app's single callback URL is the first page's: Meta delivers both pages
        # there.
        body = messaging_body(
            "page",
            "5566778899",
            messaging_item(
                PSID,
                "5566778899",
                message={"mid": "m_second", "text": "На вторую страницу"},
            ),
        )
        self.post_meta(self.messenger, body)
        message = self.messages(second)
        self.assertEqual(message.provider_message_id, "m_second")
        message.conversation_id._post_reply("Ответ второй страницы", user=self.admin)
        call = self.graph.api_calls("POST", "me/messages")[-1]
        self.assertEqual(call.headers["Authorization"], "Bearer EAAG-PAGE-2")


@tagged("post_install", "-at_install")
class TestInstagramDirect(MessagingCase):
    def test_story_reply_mention_share_and_read(self):
        story_url = self.graph.add_cdn_file(
            "story.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4"
        )
        reply = self.page_event(
            self.instagram,
            sender=IGSID,
            message={
                "mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx",
                "text": "Сколько стоит это кресло?",
                "reply_to": {"story": {"url": story_url, "id": "17890000000000001"}},
            },
        )
        self.assertIn("Reply to your story", reply.body)
        self.assertIn("story.mp4", reply.body, "the story is linked")
        identity = reply.conversation_id.identity_id
        self.assertEqual((identity.name, identity.username), ("Maria K", "maria.k"))
        mention_url = self.graph.add_cdn_file("mention.jpg", PNG, "image/jpeg")
        mention = self.page_event(
            self.instagram,
            sender=IGSID,
            message={
                "mid": "ig_mention",
                "attachments": [
                    {"type": "story_mention", "payload": {"url": mention_url}}
                ],
            },
        )
        self.run_downloads()
        self.assertIn("Mentioned you in their story", mention.body)
        self.assertEqual(mention.attachment_ids.raw, PNG)
        share = self.page_event(
            self.instagram,
            sender=IGSID,
            message={
                "mid": "ig_share",
                "attachments": [
                    {
                        "type": "ig_reel",
                        "payload": {
                            "reel_video_id": "1",
                            "title": "Наше кресло",
                            "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1",
                        },
                    }
                ],
            },
        )
        self.assertIn("Shared a post or a link", share.body)
        self.assertIn("Наше кресло", share.body)
        conversation = reply.conversation_id
        answer = conversation._post_reply("80 евро", user=self.admin)
        self.assertEqual(
            self.graph.api_calls("POST", "me/messages")[-1].headers["Authorization"],
            f"Bearer {IG_TOKEN}",
        )
        self.page_event(
            self.instagram, sender=IGSID, read={"mid": answer.provider_message_id}
        )
        self.assertEqual(answer.status, "read")
        self.assertEqual(conversation.lead_id.source_id.name, "Instagram Direct")

    def test_instagram_window_is_explained(self):
        self.page_event(
            self.instagram,
            sender=IGSID,
            message={"mid": "ig_old", "text": "Привет"},
            timestamp_ms=int((time.time() - 30 * 3600) * 1000),
        )
        conversation = self.messages(self.instagram).conversation_id
        with self.assertRaises(UserError) as refusal:
            conversation._post_reply("Здравствуйте", user=self.admin)
        self.assertIn(
            "Instagram Direct lets a business answer only within 24 hours",
            str(refusal.exception),
        )
        panel = self.Message.panel_fetch("omnichannel.conversation", conversation.id)
        self.assertIn("24 hours", panel["conversations"][0]["reply_refusal"])
        self.assertEqual(
            panel["conversations"][0]["templates"], [], "no templates on Instagram"
        )

    def test_subscribe_and_check_connection(self):
        channel = self.instagram.with_user(self.admin)
        channel.action_register_webhook()
        subscribe = self.graph.api_calls("POST", "me/subscribed_apps")[-1]
        self.assertIn("messages", subscribe.query["subscribed_fields"])
        self.assertIn(
            self.instagram.webhook_url,
            self.instagram.webhook_status,
            "says which URL the dashboard needs",
        )
        action = channel.action_check_webhook()
        self.assertIn("Office Chairs (@office.chairs)", action["params"]["message"])
        self.assertIn("Delivers to this channel: yes", action["params"]["message"])
