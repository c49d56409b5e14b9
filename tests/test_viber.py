from odoo.exceptions import UserError
from odoo.tests import tagged

from .fake_viber import (
    viber_callback,
    viber_message,
    viber_signature,
    viber_user,
)
from .provider_case import ProviderCase
from .test_telegram import PNG

SIGNATURE_HEADER = "X-Viber-Content-Signature"


class ViberCase(ProviderCase):
    def setUp(self):
        super().setUp()
        self.channel = self._viber_bot()

    def send(self, callback, signature=True):
        body, good = viber_signature(self.viber.token, callback)
        headers = {}
        if signature is True:
            headers[SIGNATURE_HEADER] = good
        elif signature:
            headers[SIGNATURE_HEADER] = signature
        return self.post_webhook(self.channel, body, headers=headers)


@tagged("post_install", "-at_install")
class TestViberWebhook(ViberCase):
    """Viber callbacks through the real webhook; media from a fake Viber."""

    def test_forged_or_missing_signature_is_refused_and_nothing_stored(self):
        callback = viber_message(1001, {"type": "text", "text": "hello"})
        _body, good = viber_signature("another-bot-token", callback)
        for signature in (good, None, "", "abc"):
            response = self.send(callback, signature=signature or False)
            self.assertEqual(response.status_code, 403, signature)
            self.assertNotIn(self.viber.token, response.text)
        # a body changed after signing
        _body, good = viber_signature(self.viber.token, callback)
        tampered = dict(callback, message={"type": "text", "text": "hello!"})
        self.assertEqual(self.send(tampered, signature=good).status_code, 403)
        self.channel.token = False
        self.assertEqual(
            self.send(callback).status_code,
            403,
            "a channel without token accepts nothing",
        )
        self.assertFalse(self.journal())

    def test_malformed_callbacks(self):
        for body in (b"{nope", b"[]"):
            self.assertEqual(self.send(body).status_code, 400, body)
        self.assertFalse(self.journal(), "not JSON objects: not Viber's at all")
        self.assert_kept_unreadable(
            [
                self.send(body)
                for body in (
                    b'{"event": 5}',
                    b'{"event": ["message"], "message_token": 1}',
                    b'{"event": {"message": 1}}',
                )
            ],
            "",
        )

    def test_text_message_creates_history_and_replay_is_ignored(self):
        callback = viber_message(
            4912661846655238145, {"type": "text", "text": "Есть ли диван в наличии?"}
        )
        self.assertEqual(self.send(callback).status_code, 200)
        self.assertEqual(
            self.send(callback).status_code, 200, "a Viber retry is acknowledged"
        )
        self.assertEqual(len(self.journal()), 1)
        self.assertEqual(len(self.messages()), 1, "and stored once")
        message = self.last_message()
        self.assertIn("Есть ли диван в наличии?", message.body)
        self.assertEqual(message.provider_message_id, "4912661846655238145")
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.name, identity.language),
            ("01234567890A=", "Anna Smirnova", "ru"),
        )
        self.assertEqual(message.conversation_id.lead_id.source_id.name, "Viber")

    def test_picture_video_file_and_sticker_are_downloaded(self):
        url = self.viber.add_file("photo.jpg", PNG)
        self.send(
            viber_message(
                11,
                {
                    "type": "picture",
                    "text": "this one",
                    "media": url,
                    "thumbnail": url,
                    "file_name": "photo.jpg",
                    "size": len(PNG),
                },
            )
        )
        self.run_downloads()
        picture = self.last_message()
        self.assertEqual(picture.message_type, "image")
        self.assertIn("this one", picture.body)
        self.assertEqual(picture.attachment_ids.raw, PNG)
        url = self.viber.add_file("clip.mp4", b"\x00\x00\x00\x18ftypmp42")
        self.send(
            viber_message(
                12,
                {
                    "type": "video",
                    "media": url,
                    "thumbnail": url,
                    "size": 12,
                    "duration": 3,
                },
            )
        )
        self.run_downloads()
        video = self.last_message()
        self.assertEqual(video.message_type, "video")
        self.assertEqual(video.attachment_ids.raw, b"\x00\x00\x00\x18ftypmp42")
        url = self.viber.add_file("spec.pdf", b"%PDF-1.4 spec")
        self.send(
            viber_message(
                13, {"type": "file", "media": url, "size": 13, "file_name": "spec.pdf"}
            )
        )
        self.run_downloads()
        document = self.last_message()
        self.assertEqual(
            (document.message_type, document.attachment_ids.name),
            ("document", "spec.pdf"),
        )
        self.assertEqual(document.attachment_ids.raw, b"%PDF-1.4 spec")
        url = self.viber.add_file("sticker.png", PNG)
        self.send(
            viber_message(14, {"type": "sticker", "sticker_id": 46105, "media": url})
        )
        self.run_downloads()
        sticker = self.last_message()
        self.assertEqual(sticker.message_type, "sticker")
        self.assertEqual(sticker.attachment_ids.mimetype, "image/png")

    def test_expired_media_is_retried_apart_from_the_text(self):
        self.send(
            viber_message(
                15,
                {
                    "type": "file",
                    "media": self.viber.url + "/media/gone.pdf",
                    "size": 5,
                    "file_name": "gone.pdf",
                },
            )
        )
        self.assertEqual(
            self.journal().state, "done", "the message does not wait for its file"
        )
        self.run_downloads()
        download = self.last_message().download_ids
        self.assertEqual(
            download.state, "pending", "a failed download is retried later, not lost"
        )
        self.assertIn("404", download.error_message)

    def test_location_url_and_contact(self):
        self.send(
            viber_message(
                21, {"type": "location", "location": {"lat": 55.7558, "lon": 37.6173}}
            )
        )
        location = self.last_message()
        self.assertEqual(location.message_type, "location")
        self.assertIn("mlat=55.7558", location.body)
        self.send(
            viber_message(22, {"type": "url", "media": "https://example.com/sofa"})
        )
        self.assertIn("https://example.com/sofa", self.last_message().body)
        known = self.env["res.partner"].create(
            {"name": "Anna (known)", "phone": "+7 912 555 44 33"}
        )
        self.send(
            viber_message(
                23,
                {
                    "type": "contact",
                    "contact": {"name": "Anna", "phone_number": "+79125554433"},
                },
            )
        )
        contact = self.last_message()
        self.assertEqual(contact.message_type, "contact")
        self.assertIn("+79125554433", contact.body)
        # Viber does not say whose card it is: a suggestion, never a link by itself.
        self.assertNotEqual(
            contact.conversation_id.partner_id, known, "a Viber card proves nothing"
        )
        self.assertEqual(
            contact.conversation_id.identity_id.suggestion_ids.partner_id, known
        )

    def test_conversation_started_creates_the_identity_only(self):
        user = viber_user("NEWUSER0000=", "Boris")
        self.assertEqual(
            self.send(
                viber_callback(
                    "conversation_started",
                    301,
                    type="open",
                    context="site",
                    user=user,
                    subscribed=False,
                )
            ).status_code,
            200,
        )
        identity = self.env["omnichannel.identity"].search(
            [
                ("channel_id", "=", self.channel.id),
                ("provider_user_id", "=", "NEWUSER0000="),
            ]
        )
        self.assertEqual(identity.name, "Boris")
        self.assertFalse(
            identity.conversation_ids, "no message yet: no conversation and no lead"
        )
        self.assertEqual(self.journal().state, "done")
        self.assertEqual(self.journal().note, "opened the chat with the bot")
        # later the same person writes: same identity
        self.send(viber_message(302, {"type": "text", "text": "hi"}, user=user))
        self.assertEqual(self.last_message().conversation_id.identity_id, identity)

    def test_webhook_check_callback_is_acknowledged(self):
        response = self.send(viber_callback("webhook", 241256543215))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.journal().state, "ignored")
        self.assertIn("set_webhook", self.journal().note)


@tagged("post_install", "-at_install")
class TestViberReplies(ViberCase):
    """Replies, delivery reports and subscription through a fake Viber."""

    def setUp(self):
        super().setUp()
        self.send(
            viber_message(1, {"type": "text", "text": "Hello, the price of the sofa?"})
        )
        self.remember_conversation()

    def test_reply_is_sent_and_status_reports_apply(self):
        sent = self.reply("It is 500 EUR")
        self.assertEqual(sent["status"], "sent")
        call = self.viber.calls("send_message")[-1]
        self.assertEqual(call.headers["X-Viber-Auth-Token"], self.viber.token)
        payload = call.json()
        self.assertEqual(
            (
                payload["receiver"],
                payload["type"],
                payload["text"],
                payload["sender"]["name"],
            ),
            ("01234567890A=", "text", "It is 500 EUR", "Mebel Shop"),
        )
        message = self.Message.browse(sent["id"])
        token = int(message.provider_message_id)
        self.send(viber_callback("seen", token, user_id="01234567890A="))
        self.assertEqual(message.status, "read")
        self.send(viber_callback("delivered", token, user_id="01234567890A="))
        self.assertEqual(
            message.status, "read", "a late report never moves the status back"
        )
        self.assertEqual(
            len(self.journal().filtered(lambda e: e.event_kind == "status")), 2
        )

    def test_failed_report_shows_the_reason(self):
        sent = self.reply("Offer")
        message = self.Message.browse(sent["id"])
        self.send(
            viber_callback(
                "failed",
                int(message.provider_message_id),
                user_id="01234567890A=",
                desc="failure description",
            )
        )
        self.assertEqual(message.status, "failed")
        self.assertEqual(message.error_message, "failure description")

    def test_picture_and_file_are_sent_by_public_url(self):
        sent = self.reply(
            "Our catalogue", ("sofa.png", PNG), ("catalogue.pdf", b"%PDF catalogue")
        )
        self.assertEqual(sent["status"], "sent")
        kinds = [p["type"] for p in self.viber.sent]
        self.assertEqual(kinds, ["text", "picture", "file"])
        picture, document = self.viber.sent[1], self.viber.sent[2]
        self.assertEqual(
            (document["file_name"], document["size"]),
            ("catalogue.pdf", len(b"%PDF catalogue")),
        )
        self.assertTrue(picture["media"].startswith(self.base_url() + "/web/content/"))
        # Viber downloads the files anonymously from those addresses
        self.assertEqual(self.url_open(picture["media"]).content, PNG)
        self.assertEqual(self.url_open(document["media"]).content, b"%PDF catalogue")
        guessed = document["media"].replace("access_token=", "access_token=x")
        self.assertNotEqual(
            self.url_open(guessed).content, b"%PDF catalogue", "the token is required"
        )

    def test_unsubscribed_customer_cannot_be_answered(self):
        self.send(
            viber_callback("unsubscribed", 4912661846655238145, user_id="01234567890A=")
        )
        self.assertTrue(self.conversation.unreachable)
        with self.assertRaisesRegex(UserError, "cannot be reached on Viber shop"):
            self.reply("Hello?")
        self.assertFalse(self.viber.sent, "nothing went to Viber")
        # subscribing again (or writing) makes them reachable
        self.send(viber_callback("subscribed", 4912661846655238146, user=viber_user()))
        self.assertFalse(self.conversation.unreachable)
        sent = self.reply("Welcome back")
        self.assertEqual(sent["status"], "sent")

    def test_provider_refusals(self):
        self.viber.failure = (6, "receiverNotSubscribed")
        sent = self.reply("Hello?")
        self.assertEqual(sent["status"], "failed")
        self.assertIn("receiverNotSubscribed", sent["error"])
        self.assertEqual(self.Message.browse(sent["id"]).error_code, "6")
        self.assertTrue(
            self.conversation.unreachable,
            "Viber says the customer cannot receive messages",
        )
        self.conversation.identity_id.write({"unreachable": False})
        self.viber.failure = (12, "tooManyRequests")
        sent = self.reply("Later")
        self.assertEqual(sent["status"], "queued", "a rate limit is retried later")
        self.viber.failure = None
        message = self.Message.browse(sent["id"])
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")

    def test_register_and_check_webhook(self):
        channel = self.channel.with_user(self.env.ref("base.user_admin"))
        self.assertTrue(channel.can_register_webhook and channel.can_check_webhook)
        channel.action_register_webhook()
        payload = self.viber.calls("set_webhook")[-1].json()
        self.assertEqual(payload["url"], self.channel.webhook_url)
        self.assertIn("conversation_started", payload["event_types"])
        action = channel.action_check_webhook()
        self.assertIn("Mebel Shop", action["params"]["message"])
        self.assertEqual(action["params"]["type"], "success")
        self.viber.token = "changed"
        with self.assertRaisesRegex(UserError, "invalidAuthToken"):
            channel.action_check_webhook()
