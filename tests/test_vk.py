from odoo.tests import tagged

from .fake_vk import GROUP_ID, FakeVkServer, vk_event, vk_message, vk_message_new
from .provider_case import ProviderCase
from .test_telegram import PNG


class VkCase(ProviderCase):
    def setUp(self):
        super().setUp()
        self.vk = FakeVkServer().start()
        self.addCleanup(self.vk.stop)
        self.channel = self._create_channel(
            "vk",
            name="VK community",
            token=self.vk.token,
            webhook_secret="vk-secret-key",
            verify_token="a1b2c3d4",
            account_ref=str(GROUP_ID),
            api_base_url=self.vk.api_root,
        )

    def send(self, event):
        return self.post_webhook(self.channel, event)


@tagged("post_install", "-at_install")
class TestVkCallbackApi(VkCase):
    """VK Callback API events through the real webhook."""

    def test_confirmation_is_answered_with_the_code(self):
        response = self.send({"type": "confirmation", "group_id": GROUP_ID})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "a1b2c3d4")
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))
        self.assertEqual(
            self.send(
                {
                    "type": "confirmation",
                    "group_id": GROUP_ID,
                    "secret": "vk-secret-key",
                }
            ).text,
            "a1b2c3d4",
        )
        self.assertEqual(
            self.send({"type": "confirmation", "group_id": 1}).status_code,
            403,
            "another community gets nothing",
        )
        self.assertEqual(
            self.send(
                {"type": "confirmation", "group_id": GROUP_ID, "secret": "bad"}
            ).status_code,
            403,
        )
        self.assertFalse(self.journal())

    def test_wrong_or_missing_secret_is_refused_and_nothing_stored(self):
        for secret in ("wrong", None, ""):
            response = self.send(vk_message_new(1, secret=secret, text="hello"))
            self.assertEqual(response.status_code, 403, secret)
            self.assertNotIn("vk-secret-key", response.text)
        self.assertEqual(
            self.post_webhook(self.channel, b"{not json").status_code,
            403,
            "a body without a readable secret is not trusted",
        )
        self.channel.webhook_secret = False
        self.assertEqual(self.send(vk_message_new(2, text="hello")).status_code, 403)
        self.assertFalse(self.journal())

    def test_event_of_another_community_is_refused(self):
        event = vk_message_new(3, text="hello")
        event["group_id"] = 1
        self.assertEqual(self.send(event).status_code, 403)
        self.assertFalse(self.journal())

    def test_message_new_is_acknowledged_with_ok_and_stored_once(self):
        event = vk_message_new(10, text="Здравствуйте, нужен шкаф")
        response = self.send(event)
        self.assertEqual((response.status_code, response.text), (200, "ok"))
        self.assertEqual(self.send(event).text, "ok", "a VK retry is acknowledged")
        self.assertEqual(len(self.journal()), 1)
        self.assertEqual(len(self.messages()), 1)
        message = self.last_message()
        self.assertIn("Здравствуйте, нужен шкаф", message.body)
        self.assertEqual(message.provider_message_id, "10")
        identity = message.conversation_id.identity_id
        self.assertEqual(
            (identity.provider_user_id, identity.name, identity.username),
            ("5550101", "Ivan Petrov", "ivan_petrov"),
            "the name comes from users.get",
        )
        self.assertEqual(message.conversation_id.lead_id.source_id.name, "VK")

    def test_malformed_events_are_kept_unreadable_without_the_secret(self):
        events = (
            {"secret": "vk-secret-key", "group_id": GROUP_ID},
            {"type": "message_new", "secret": "vk-secret-key", "group_id": GROUP_ID},
            {
                "type": "message_new",
                "object": [4],
                "secret": "vk-secret-key",
                "group_id": GROUP_ID,
            },
        )
        self.assert_kept_unreadable([self.send(event) for event in events], "ok")
        self.assertFalse(
            [row for row in self.journal() if "vk-secret-key" in row.raw_body],
            "the secret key is not kept with the body",
        )

    def test_attachments_location_and_forwarded_text(self):
        photo_url = self.vk.add_file("photo.jpg", PNG)
        doc_url = self.vk.add_file("offer.pdf", b"%PDF offer")
        voice_url = self.vk.add_file("voice.ogg", b"OggS voice")
        sticker_url = self.vk.add_file("sticker.png", PNG)
        self.send(
            vk_message_new(
                20,
                text="see photo",
                attachments=[
                    {
                        "type": "photo",
                        "photo": {
                            "id": 457239018,
                            "owner_id": 5550101,
                            "access_key": "k",
                            "sizes": [
                                {
                                    "type": "s",
                                    "url": self.vk.url + "/files/small",
                                    "width": 75,
                                    "height": 50,
                                },
                                {
                                    "type": "x",
                                    "url": photo_url,
                                    "width": 604,
                                    "height": 403,
                                },
                            ],
                        },
                    }
                ],
            )
        )
        self.run_downloads()
        photo = self.last_message()
        self.assertEqual(
            (photo.message_type, photo.attachment_ids.raw),
            ("image", PNG),
            "the biggest size",
        )
        self.send(
            vk_message_new(
                21,
                attachments=[
                    {
                        "type": "doc",
                        "doc": {
                            "id": 1,
                            "owner_id": 5550101,
                            "title": "offer",
                            "size": 10,
                            "ext": "pdf",
                            "url": doc_url,
                            "type": 1,
                        },
                    }
                ],
            )
        )
        self.run_downloads()
        doc = self.last_message()
        self.assertEqual(
            (doc.message_type, doc.attachment_ids.name, doc.attachment_ids.raw),
            ("document", "offer.pdf", b"%PDF offer"),
        )
        self.send(
            vk_message_new(
                22,
                attachments=[
                    {
                        "type": "audio_message",
                        "audio_message": {
                            "id": 2,
                            "owner_id": 5550101,
                            "duration": 3,
                            "link_ogg": voice_url,
                            "link_mp3": voice_url + ".mp3",
                        },
                    }
                ],
            )
        )
        self.run_downloads()
        voice = self.last_message()
        self.assertEqual(
            (voice.message_type, voice.attachment_ids.raw), ("voice", b"OggS voice")
        )
        self.send(
            vk_message_new(
                23,
                attachments=[
                    {
                        "type": "sticker",
                        "sticker": {
                            "product_id": 1,
                            "sticker_id": 9,
                            "images": [
                                {"url": sticker_url, "width": 128, "height": 128}
                            ],
                        },
                    }
                ],
            )
        )
        self.assertEqual(self.last_message().message_type, "sticker")
        self.send(
            vk_message_new(
                24,
                attachments=[
                    {"type": "video", "video": {"id": 456239017, "owner_id": 5550101}}
                ],
            )
        )
        self.assertIn("https://vk.com/video5550101_456239017", self.last_message().body)
        self.send(
            vk_message_new(
                25,
                geo={
                    "type": "point",
                    "coordinates": {"latitude": 55.75, "longitude": 37.61},
                    "place": {"title": "Moscow"},
                },
            )
        )
        location = self.last_message()
        self.assertEqual(location.message_type, "location")
        self.assertIn("Moscow", location.body)
        self.send(
            vk_message_new(
                26,
                text="look",
                fwd_messages=[vk_message(5, text="the old price was 100")],
            )
        )
        self.assertIn("the old price was 100", self.last_message().body)

    def test_edited_message_updates_the_text(self):
        self.send(vk_message_new(30, text="10 chairs"))
        original = self.last_message()
        edit = vk_event(
            "message_edit", vk_message(30, text="12 chairs", update_time=1700000100)
        )
        self.assertEqual(self.send(edit).text, "ok")
        self.assertEqual(len(self.messages()), 1)
        original.invalidate_recordset()
        self.assertTrue(original.is_edited)
        self.assertIn("12 chairs", original.body)
        self.assertNotIn("10 chairs", original.body)

    def test_start_button_is_greeted(self):
        self.channel.greeting_text = "Здравствуйте! Чем помочь?"
        self.send(vk_message_new(40, text="Начать", payload='{"command":"start"}'))
        self.assertEqual(self.vk.delivered[-1]["message"], "Здравствуйте! Чем помочь?")
        self.assertEqual(self.vk.delivered[-1]["peer_id"], "5550101")

    def test_message_deny_and_allow(self):
        self.send(vk_message_new(50, text="hi"))
        conversation = self.last_message().conversation_id
        self.send(vk_event("message_deny", {"user_id": 5550101}))
        self.assertTrue(conversation.unreachable)
        self.send(vk_event("message_allow", {"user_id": 5550101, "key": "promo"}))
        self.assertFalse(conversation.unreachable)

    def test_other_events_are_journaled_as_ignored(self):
        self.assertEqual(
            self.send(
                vk_event(
                    "message_typing_state",
                    {"state": "typing", "from_id": 5550101, "to_id": -GROUP_ID},
                )
            ).text,
            "ok",
        )
        self.assertEqual(self.journal().state, "ignored")
        self.assertIn("message_typing_state", self.journal().note)


@tagged("post_install", "-at_install")
class TestVkReplies(VkCase):
    """messages.send, uploads and errors through a fake VK API."""

    def setUp(self):
        super().setUp()
        self.send(vk_message_new(1, text="Сколько стоит доставка?"))
        self.remember_conversation()

    def test_reply_is_sent_and_its_echo_is_not_stored_again(self):
        sent = self.reply("Доставка 500 ₽")
        self.assertEqual(sent["status"], "sent")
        call = self.vk.calls("messages.send")[-1].fields
        self.assertEqual(
            (call["peer_id"], call["message"], call["v"], call["access_token"]),
            ("5550101", "Доставка 500 ₽", "5.199", self.vk.token),
        )
        self.assertTrue(int(call["random_id"]) > 0)
        message = self.Message.browse(sent["id"])
        self.assertEqual(message.provider_message_id, str(self.vk.delivered[-1]["id"]))
        # VK reports our own message back (message_reply): acknowledged, never a second
        # copy
        echo = vk_event(
            "message_reply",
            vk_message(
                int(message.provider_message_id),
                from_id=-GROUP_ID,
                out=1,
                peer_id=5550101,
                text="Доставка 500 ₽",
                random_id=int(call["random_id"]),
            ),
        )
        self.assertEqual(self.send(echo).text, "ok")
        self.assertEqual(len(self.messages()), 2)
        self.assertEqual(message.status, "sent")

    def test_random_id_is_stable_across_a_retried_send(self):
        self.vk.failures["messages.send"] = "gateway"
        sent = self.reply("Once only")
        self.assertEqual(sent["status"], "queued", "the answer was lost: retried later")
        self.assertEqual(len(self.vk.delivered), 1, "VK did deliver it")
        del self.vk.failures["messages.send"]
        message = self.Message.browse(sent["id"])
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(message.status, "sent")
        calls = self.vk.calls("messages.send")
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0].fields["random_id"], calls[1].fields["random_id"])
        self.assertEqual(len(self.vk.delivered), 1, "the customer got the message once")
        self.assertEqual(message.provider_message_id, str(self.vk.delivered[0]["id"]))
        other = self.reply("Once only")
        self.assertNotEqual(
            self.vk.calls("messages.send")[-1].fields["random_id"],
            calls[0].fields["random_id"],
            "another message with the same text is another random_id",
        )
        self.assertEqual(other["status"], "sent")
        self.assertEqual(len(self.vk.delivered), 2)

    def test_files_are_uploaded_then_attached(self):
        sent = self.reply(
            "Photos and offer", ("sofa.png", PNG), ("offer.pdf", b"%PDF offer")
        )
        self.assertEqual(sent["status"], "sent")
        self.assertTrue(self.vk.calls("photos.getMessagesUploadServer"))
        self.assertEqual(self.vk.find("/upload/photo")[0].files["photo"][1], PNG)
        self.assertEqual(self.vk.find("/upload/doc")[0].files["file"][1], b"%PDF offer")
        attachment = self.vk.delivered[-1]["attachment"].split(",")
        self.assertEqual(len(attachment), 2)
        self.assertTrue(attachment[0].startswith(f"photo-{GROUP_ID}_"))
        self.assertTrue(attachment[0].endswith("_c3d1e4f5a6"), "with its access key")
        self.assertTrue(attachment[1].startswith(f"doc-{GROUP_ID}_"))

    def test_vk_errors_become_clear_failures(self):
        self.vk.failures["messages.send"] = (
            901,
            "Can't send messages for users without permission",
        )
        sent = self.reply("Hello?")
        self.assertEqual(sent["status"], "failed")
        self.assertIn("Can't send messages for users without permission", sent["error"])
        self.assertEqual(self.Message.browse(sent["id"]).error_code, "901")
        self.assertTrue(self.conversation.unreachable)
        self.conversation.identity_id.write({"unreachable": False})
        self.vk.failures["messages.send"] = (9, "Flood control")
        sent = self.reply("Later")
        self.assertEqual(sent["status"], "queued", "flood control is retried later")
        self.channel.token = "revoked"
        del self.vk.failures["messages.send"]
        message = self.Message.browse(sent["id"])
        message.next_send_date = "2000-01-01 00:00:00"
        self.Message._cron_send_queued()
        self.assertEqual(
            (message.status, message.error_code),
            ("failed", "5"),
            "a bad token is not retried",
        )

    def test_check_connection(self):
        channel = self.channel.with_user(self.env.ref("base.user_admin"))
        self.assertTrue(channel.can_check_webhook)
        self.assertFalse(
            channel.can_register_webhook,
            "the server is added in the community settings",
        )
        self.vk.callback_servers.append(
            {
                "id": 1,
                "title": "Odoo",
                "creator_id": 1,
                "url": self.channel.webhook_url,
                "secret_key": "vk-secret-key",
                "status": "ok",
            }
        )
        action = channel.action_check_webhook()
        self.assertIn("Мебельный магазин", action["params"]["message"])
        self.assertEqual(action["params"]["type"], "success")
        self.vk.callback_servers[0]["status"] = "failed"
        action = channel.action_check_webhook()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("failed", action["params"]["message"])
