import base64
import io
import json
import logging

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase
from .fake_telegram import tg_update, tg_user
from .panel_uploads import pending_uploads

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@tagged("post_install", "-at_install")
class TestTelegramWebhook(OmnichannelHttpCase):
    """Telegram updates through the real webhook, files through a fake Bot API."""

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot()
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()

    def send(self, update, secret="s3cret-token", channel=None):
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return self.post_webhook(channel or self.channel, update, headers=headers)

    def journal(self):
        return self.Journal.search([("channel_id", "=", self.channel.id)])

    def last_message(self):
        return self.Message.search(
            [("channel_id", "=", self.channel.id)], order="id desc", limit=1
        )

    # -- refusals --------------------------------------------------------------
    def test_wrong_or_missing_secret_is_refused_and_nothing_stored(self):
        for secret in ("wrong", None, ""):
            response = self.send(tg_update(1, text="hello"), secret=secret)
            self.assertEqual(response.status_code, 403, secret)
            self.assertNotIn(
                "s3cret", response.text, "a refusal never echoes the secret"
            )
        self.assertFalse(self.journal())
        self.assertFalse(self.Message.search([("channel_id", "=", self.channel.id)]))

    def test_channel_without_secret_accepts_nothing(self):
        self.channel.webhook_secret = False
        self.assertEqual(self.send(tg_update(2, text="hi"), secret="").status_code, 403)
        self.assertFalse(self.journal())

    def test_unknown_and_archived_channels_are_404(self):
        response = self.url_open(
            "/omnichannel/webhook/no-such-key",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 404)
        self.channel.active = False
        self.assertEqual(self.send(tg_update(3, text="hi")).status_code, 404)
        self.assertFalse(self.journal())

    def test_bodies_that_are_not_json_objects_are_400_and_nothing_stored(self):
        for body in (b"{not json", b"[]", b'"update"', b"\xff\xfe"):
            response = self.send(body)
            self.assertEqual(response.status_code, 400, body)
            self.assertIn("error", response.json())
        self.assertFalse(self.journal())

    def test_signed_update_no_parser_reads_is_kept_as_unreadable(self):
        """Telegram signed it: journaled before any parser runs, answered
        200 (anything else makes Telegram resend it), kept as Unreadable with
        the parser's reason, and nothing half-made from it."""
        partners = self.env["res.partner"].search_count([])
        # No parser can read these, however lenient: no update id, or one
        # that is a list or an object.
        bodies = (
            b"{}",
            b'{"update_id": [5], "message": {"message_id": 1}}',
            b'{"update_id": {"id": 6}}',
        )
        for body in bodies:
            response = self.send(body)
            self.assertEqual(response.status_code, 200, body)
            self.assertEqual(
                response.text, "", "Telegram gets its plain acknowledgement"
            )
            self.assertEqual(
                self.send(body).status_code, 200, "a retry is acknowledged alike"
            )
        rows = self.journal()
        self.assertEqual(len(rows), 3, "each body once, retries included")
        self.assertEqual(set(rows.mapped("state")), {"unreadable"})
        self.assertEqual(set(rows.mapped("event_kind")), {"request"})
        self.assertEqual(
            sorted(rows.mapped("raw_body")),
            sorted(b.decode() for b in bodies),
            "the body is kept as it came",
        )
        self.assertTrue(
            all(r.error_message and r.error_traceback for r in rows),
            "the reason is kept",
        )
        self.assertFalse(
            rows.filtered("next_attempt_date"),
            "not retried blindly: it waits for an upgrade",
        )
        self.assertFalse(self.Message.search([("channel_id", "=", self.channel.id)]))
        self.assertEqual(self.env["res.partner"].search_count([]), partners)

    def test_unreadable_requests_are_read_again_with_one_click(self):
        """What an older version could not read (kept as Unreadable) is read
        by this one when an administrator presses Read again, one row or a
        selection: the messages appear, the request rows make way for their
        events, and what is still unreadable stays, with its reason."""
        connector = self.channel._get_connector()
        bodies = [
            json.dumps(
                tg_update(
                    70 + n,
                    user=tg_user(770000 + n, first_name=f"Late {n}"),
                    text=f"kept for later {n}",
                )
            ).encode()
            for n in range(2)
        ]
        left = [
            self.Journal._journal_request(self.channel, connector, body)
            for body in bodies
        ]
        still = self.Journal._journal_request(
            self.channel, connector, b'{"update_id": [7]}'
        )
        for row in left + [still]:
            row.write(
                {
                    "state": "unreadable",
                    "next_attempt_date": False,
                    "error_message": "older version",
                }
            )
        admin = self.env.ref("base.user_admin")
        with self.assertRaises(UserError):
            left[0].with_user(
                new_test_user(
                    self.env,
                    "oc_reader",
                    groups="omnichannel_inbox.group_omnichannel_manager",
                )
            ).action_retry()

        action = left[0].with_user(admin).action_retry()
        self.assertEqual(
            action["type"], "ir.actions.act_window", "the events read are shown"
        )
        self.assertFalse(left[0].exists(), "the request made way for its event")
        rows = self.journal().filtered(lambda r: r.event_kind != "request")
        self.assertEqual(rows.ids, action["domain"][0][2])
        self.assertEqual((rows.provider_event_id, rows.state), ("70", "done"))
        self.assertIn("kept for later 0", self.last_message().body)

        action = (left[1] | still).with_user(admin).action_retry()
        self.assertEqual(
            action["params"]["type"], "danger", "what is still unreadable is said"
        )
        self.assertIn("still unreadable", action["params"]["message"])
        self.assertFalse(left[1].exists())
        self.assertEqual(still.state, "unreadable")
        self.assertIn("kept for later 1", self.last_message().body)
        self.assertEqual(
            len(self.Message.search([("channel_id", "=", self.channel.id)])), 2
        )

    def test_oversized_body_is_413(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.max_body_kb", "1"
        )
        update = tg_update(6, text="x" * 3000)
        self.assertEqual(self.send(update).status_code, 413)
        self.assertFalse(self.journal())

    def test_unhandled_update_kind_is_journaled_as_ignored(self):
        response = self.send(
            {
                "update_id": 7,
                "poll": {
                    "id": "1",
                    "question": "q",
                    "options": [],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                },
            }
        )
        self.assertEqual(response.status_code, 200)
        row = self.journal()
        self.assertEqual(row.state, "ignored")
        self.assertIn("poll", row.note)

    # -- accepted updates ---------------------------------------------------------
    def test_text_message_creates_history_and_replay_is_ignored(self):
        update = tg_update(10, text="Сколько стоит доставка?")
        self.assertEqual(self.send(update).status_code, 200)
        self.assertEqual(
            self.send(update).status_code, 200, "a provider retry is acknowledged"
        )
        self.assertEqual(len(self.journal()), 1)
        message = self.last_message()
        self.assertEqual(
            self.Message.search_count([("channel_id", "=", self.channel.id)]),
            1,
            "and stored once",
        )
        self.assertIn("Сколько стоит доставка?", message.body)
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.username, identity.name),
            ("5550001", "anna_s", "Anna Smirnova"),
        )
        self.assertEqual(message.provider_message_id, "5550001:10")
        self.assertEqual(message.conversation_id.lead_id.source_id.name, "Telegram")

    def test_photo_is_downloaded_and_attached(self):
        self.bot_api.add_file("photo-big", PNG, "photos/file_1.jpg")
        self.send(
            tg_update(
                11,
                caption="our office",
                photo=[
                    {
                        "file_id": "photo-small",
                        "file_unique_id": "a",
                        "width": 90,
                        "height": 90,
                        "file_size": 10,
                    },
                    {
                        "file_id": "photo-big",
                        "file_unique_id": "b",
                        "width": 800,
                        "height": 600,
                        "file_size": len(PNG),
                    },
                ],
            )
        )
        self.run_downloads()
        message = self.last_message()
        self.assertEqual(message.message_type, "image")
        self.assertIn("our office", message.body)
        self.assertEqual(len(message.attachment_ids), 1)
        self.assertEqual(
            message.attachment_ids.raw,
            PNG,
            "the biggest size is fetched through getFile",
        )
        self.assertTrue(self.bot_api.calls("getFile"))

    def test_document_voice_video_and_sticker(self):
        self.bot_api.add_file("doc1", b"%PDF-1.4 spec", "documents/spec.pdf")
        self.bot_api.add_file("voice1", b"OggS-voice", "voice/file_2.oga")
        self.bot_api.add_file(
            "video1", b"\x00\x00\x00\x18ftypmp42", "videos/file_3.mp4"
        )
        self.bot_api.add_file("sticker1", b"RIFF....WEBPVP8 ", "stickers/file_4.webp")
        self.send(
            tg_update(
                12,
                document={
                    "file_id": "doc1",
                    "file_unique_id": "d",
                    "file_name": "spec.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 13,
                },
            )
        )
        self.run_downloads()
        doc = self.last_message()
        self.assertEqual(
            (doc.message_type, doc.attachment_ids.name), ("document", "spec.pdf")
        )
        self.assertEqual(doc.attachment_ids.raw, b"%PDF-1.4 spec")
        self.send(
            tg_update(
                13,
                voice={
                    "file_id": "voice1",
                    "file_unique_id": "v",
                    "duration": 3,
                    "mime_type": "audio/ogg",
                    "file_size": 10,
                },
            )
        )
        self.run_downloads()
        voice = self.last_message()
        self.assertEqual(voice.message_type, "voice")
        self.assertEqual(voice.attachment_ids.raw, b"OggS-voice")
        self.send(
            tg_update(
                14,
                video={
                    "file_id": "video1",
                    "file_unique_id": "vi",
                    "width": 1,
                    "height": 1,
                    "duration": 1,
                    "mime_type": "video/mp4",
                    "file_size": 12,
                },
            )
        )
        self.assertEqual(self.last_message().message_type, "video")
        self.send(
            tg_update(
                15,
                sticker={
                    "file_id": "sticker1",
                    "file_unique_id": "st",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "👍",
                    "file_size": 16,
                },
            )
        )
        self.run_downloads()
        sticker = self.last_message()
        self.assertEqual(sticker.message_type, "sticker")
        self.assertIn("👍", sticker.body)
        self.assertEqual(sticker.attachment_ids.mimetype, "image/webp")
        self.send(
            tg_update(
                16,
                sticker={
                    "file_id": "anim",
                    "file_unique_id": "an",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": True,
                    "is_video": False,
                    "emoji": "🎉",
                },
            )
        )
        animated = self.last_message()
        self.assertIn("🎉", animated.body, "an animated sticker is shown as its emoji")
        self.assertFalse(animated.attachment_ids)

    def test_location_and_contact(self):
        self.send(tg_update(20, location={"latitude": 55.7558, "longitude": 37.6173}))
        location = self.last_message()
        self.assertEqual(location.message_type, "location")
        self.assertIn("openstreetmap.org/?mlat=55.7558", location.body)
        known = self.env["res.partner"].create(
            {"name": "Anna (known)", "phone": "+7 912 555 44 33"}
        )
        self.send(
            tg_update(
                21,
                contact={
                    "phone_number": "79125554433",
                    "first_name": "Anna",
                    "user_id": 5550001,
                },
            )
        )
        contact = self.last_message()
        self.assertEqual(contact.message_type, "contact")
        self.assertEqual(
            contact.conversation_id.partner_id,
            known,
            "sharing her own contact links her to the existing customer",
        )

    def test_edited_message_updates_text_and_is_marked(self):
        self.send(tg_update(30, message_id=77, text="I need 10 chairs"))
        original = self.last_message()
        self.send(tg_update(31, message_id=77, edited=True, text="I need 12 chairs"))
        self.assertEqual(
            self.Message.search_count([("channel_id", "=", self.channel.id)]), 1
        )
        original.invalidate_recordset()
        self.assertTrue(original.is_edited)
        self.assertIn("12 chairs", original.body)
        self.assertNotIn("10 chairs", original.body)

    def test_start_command_is_greeted(self):
        self.channel.greeting_text = "Welcome to the shop!"
        self.send(tg_update(40, text="/start"))
        calls = self.bot_api.calls("sendMessage")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0].fields["text"], "Welcome to the shop!")
        self.assertEqual(str(calls[0].fields["chat_id"]), "5550001")
        greeting = self.last_message()
        self.assertEqual(
            (greeting.direction, greeting.author_kind, greeting.status),
            ("out", "auto", "sent"),
        )

    def test_file_not_there_yet_does_not_hold_the_text(self):
        """A file Telegram does not give yet: the message is stored at once,
        the journal row done, and the file follows on its own."""
        update = tg_update(
            50,
            caption="see the file",
            document={
                "file_id": "late",
                "file_unique_id": "l",
                "file_name": "late.txt",
                "mime_type": "text/plain",
                "file_size": 4,
            },
        )
        self.assertEqual(self.send(update).status_code, 200)
        row = self.journal()
        self.assertEqual(row.state, "done")
        message = self.last_message()
        self.assertIn("see the file", message.body)
        self.assertFalse(message.attachment_ids)
        self.run_downloads()
        download = message.download_ids
        self.assertEqual((download.state, download.attempts), ("pending", 1))
        self.assertIn("invalid file_id", download.error_message.lower())
        self.bot_api.add_file("late", b"ok!!", "documents/late.txt")
        download.next_attempt_date = "2000-01-01 00:00:00"
        self.run_downloads()
        self.assertEqual(download.state, "done")
        self.assertEqual(message.attachment_ids.raw, b"ok!!")

    def test_deferred_processing_journals_and_cron_processes(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "True"
        )
        self.send(tg_update(60, text="queued"))
        row = self.journal()
        self.assertEqual(row.state, "pending")
        self.assertFalse(self.last_message())
        self.env["omnichannel.inbound.event"]._cron_process()
        self.assertEqual(row.state, "done")
        self.assertIn("queued", self.last_message().body)

    def test_blocked_bot_update_marks_identity_unreachable(self):
        self.send(tg_update(70, text="hi"))
        identity = self.last_message().conversation_id.identity_id
        self.send(
            {
                "update_id": 71,
                "my_chat_member": {
                    "chat": {"id": 5550001, "type": "private", "first_name": "Anna"},
                    "from": tg_user(),
                    "date": 1700000000,
                    "old_chat_member": {
                        "status": "member",
                        "user": {"id": 4242, "is_bot": True, "first_name": "Shop bot"},
                    },
                    "new_chat_member": {
                        "status": "kicked",
                        "until_date": 0,
                        "user": {"id": 4242, "is_bot": True, "first_name": "Shop bot"},
                    },
                },
            }
        )
        self.assertTrue(identity.unreachable)


@tagged("post_install", "-at_install")
class TestTelegramReplies(OmnichannelHttpCase):
    """Replies and administration through a fake Bot API."""

    def setUp(self):
        super().setUp()
        self.channel = self._telegram_bot(
            "999:REPLY", name="Reply bot", webhook_secret="sec"
        )
        self.post_webhook(
            self.channel,
            tg_update(1, text="Hello, price please"),
            headers={SECRET_HEADER: "sec"},
        )
        self.conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        self.lead = self.conversation.lead_id
        self.Message = self.env["omnichannel.message"]

    def test_reply_from_lead_panel_is_sent(self):
        self.assertTrue(
            self.conversation.waiting_since, "the customer waits for an answer"
        )
        self.assertFalse(self.conversation.first_response_date)
        data = self.Message.panel_fetch("crm.lead", self.lead.id)
        self.assertEqual(data["default_conversation_id"], self.conversation.id)
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="It is 100 EUR"
        )
        self.assertEqual(sent["status"], "sent")
        call = self.bot_api.calls("sendMessage")[-1]
        self.assertEqual(call.fields["text"], "It is 100 EUR")
        self.assertEqual(str(call.fields["chat_id"]), "5550001")
        message = self.Message.browse(sent["id"])
        self.assertTrue(message.provider_message_id.startswith("5550001:"))
        self.assertEqual(self.conversation.state, "waiting")
        self.assertEqual(self.conversation.last_speaker, "employee")
        self.assertFalse(
            self.conversation.waiting_since, "answered: nobody waits any more"
        )
        self.assertEqual(self.conversation.first_response_date, message.date)

    def test_bot_token_never_reaches_the_logs(self):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setLevel(logging.DEBUG)
        root = logging.getLogger()
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Logged?"
        )
        self.post_webhook(
            self.channel, tg_update(2, text="again"), headers={SECRET_HEADER: "wrong"}
        )
        output = stream.getvalue()
        self.assertIn(
            "/bot<redacted>/sendMessage",
            output,
            "the request is still logged, without its token",
        )
        self.assertNotIn("999:REPLY", output)

    def test_reply_with_attachment(self):
        sent = self.Message.panel_send(
            "crm.lead",
            self.lead.id,
            self.conversation.id,
            text="The offer",
            attachment_ids=pending_uploads(
                self.env, ("offer.pdf", b"%PDF offer"), ("pic.png", PNG)
            ).ids,
        )
        self.assertEqual(sent["status"], "sent")
        self.assertEqual(len(sent["attachments"]), 2)
        document_call = self.bot_api.calls("sendDocument")[-1]
        self.assertEqual(document_call.files["document"][0], "offer.pdf")
        self.assertEqual(document_call.files["document"][1], b"%PDF offer")
        self.assertEqual(document_call.fields["caption"], "The offer")
        self.assertTrue(self.bot_api.calls("sendPhoto"))
        self.assertFalse(
            self.bot_api.calls("sendMessage"), "the text went as the first caption"
        )

    def test_provider_refusal_is_shown_with_its_reason(self):
        self.bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Anyone?"
        )
        self.assertEqual(sent["status"], "failed")
        self.assertIn("bot was blocked by the user", sent["error"])
        self.assertTrue(self.conversation.identity_id.unreachable)
        history = self.Message.panel_fetch("crm.lead", self.lead.id)
        self.assertEqual(
            history["messages"][0]["error"],
            sent["error"],
            "the failure is visible in the chat",
        )
        self.assertTrue(history["conversations"][0]["unreachable"])

    def test_provider_down_queues_for_retry(self):
        self.bot_api.fail("sendMessage", 502, "Bad Gateway")
        sent = self.Message.panel_send(
            "crm.lead", self.lead.id, self.conversation.id, text="Retry me"
        )
        self.assertEqual(sent["status"], "queued")
        message = self.Message.browse(sent["id"])
        self.assertTrue(message.next_send_date)
        self.assertIn("Bad Gateway", message.error_message)
        # the provider is back; the cron sends it
        del self.bot_api.failures["sendMessage"]
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")
        self.assertFalse(message.error_message)

    def test_register_webhook_and_show_its_status(self):
        admin = self.env.ref("base.user_admin")
        channel = self.channel.with_user(admin)
        channel.action_register_webhook()
        call = self.bot_api.calls("setWebhook")[-1]
        self.assertEqual(call.fields["url"], self.channel.webhook_url)
        self.assertEqual(call.fields["secret_token"], "sec")
        self.bot_api.webhook.update(
            last_error_date=1700000000,
            pending_update_count=3,
            last_error_message="Wrong response from the webhook: 502 Bad Gateway",
        )
        action = channel.action_check_webhook()
        text = action["params"]["message"]
        self.assertIn("@shop_test_bot", text)
        self.assertIn("502 Bad Gateway", text)
        self.assertIn("3", text)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("502 Bad Gateway", self.channel.webhook_status)
