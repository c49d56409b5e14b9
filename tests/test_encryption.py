import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path
from unittest.mock import patch

from cryptography.fernet import Fernet

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import config, mute_logger

from odoo.addons.omnichannel_inbox.omnichannel_inbox.models import (
    omnichannel_crypto as crypto,
)

from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ADMIN_GROUP = "omnichannel_inbox.group_omnichannel_admin"


class KeyCase(OmnichannelHttpCase):
    """The key comes from the environment of the server (tests/run.sh sets
    one): a test changes that environment, as an administrator would."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert not config.get(crypto.CONFIG_OPTION), (
            "the tests set the key through the environment"
        )
        cls.key = os.environ[crypto.ENV_VARIABLE]

    def with_key(self, key):
        return patch.dict(os.environ, {crypto.ENV_VARIABLE: key})

    def raw_column(self, record, column):
        record.env.flush_all()
        self.env.cr.execute(
            f"SELECT {column} FROM {record._table} WHERE id = %s", [record.id]
        )
        return self.env.cr.fetchone()[0]


@tagged("post_install", "-at_install")
class TestSecretsAtRest(KeyCase):
    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="777:SECRET-TOKEN").start()
        self.addCleanup(self.bot_api.stop)
        self.channel = self._create_channel(
            "telegram",
            name="Encrypted bot",
            token="777:SECRET-TOKEN",
            webhook_secret="hook-secret",
            app_secret="app-secret-1",
            verify_token="verify-1",
            api_base_url=self.bot_api.url,
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()
        self.admin = new_test_user(self.env, "oc_crypto_admin", groups=ADMIN_GROUP)

    def journal(self):
        return self.Journal.search([("channel_id", "=", self.channel.id)])

    def test_database_holds_ciphertext_and_admins_read_clear(self):
        for column, clear in (
            ("token", "777:SECRET-TOKEN"),
            ("webhook_secret", "hook-secret"),
            ("app_secret", "app-secret-1"),
            ("verify_token", "verify-1"),
        ):
            stored = self.raw_column(self.channel, column)
            self.assertTrue(stored.startswith(crypto.PREFIX), column)
            self.assertNotIn(clear, stored, column)
        self.env.invalidate_all()
        channel = self.channel.with_user(self.admin)
        self.assertEqual(
            (channel.token, channel.webhook_secret), ("777:SECRET-TOKEN", "hook-secret")
        )
        self.assertEqual(self.channel._connector_config().app_secret, "app-secret-1")
        # an administrator changes it through the form: stored encrypted again
        channel.token = "777:NEW-TOKEN"
        self.assertNotIn("NEW-TOKEN", self.raw_column(self.channel, "token"))
        self.env.invalidate_all()
        self.assertEqual(channel.token, "777:NEW-TOKEN")
        salesperson = new_test_user(
            self.env, "oc_crypto_sales", groups="sales_team.group_sale_salesman"
        )
        with self.assertRaises(AccessError):
            self.channel.with_user(salesperson).read(["token"])

    def test_without_the_key_a_webhook_is_held_unverified_and_applied_once_verified(
        self,
    ):
        update = tg_update(501, text="sent while the key was missing")
        with (
            self.with_key(""),
            mute_logger(
                "odoo.addons.omnichannel_inbox.omnichannel_inbox.controllers.webhook"
            ),
        ):
            self.env.invalidate_all()
            signed = self.post_webhook(
                self.channel, update, headers={SECRET_HEADER: "hook-secret"}
            )
            forged = self.post_webhook(
                self.channel,
                tg_update(502, text="forged"),
                headers={SECRET_HEADER: "guess"},
            )
        for response in (signed, forged):
            self.assertEqual(response.status_code, 503, "the provider retries later")
            self.assertNotIn("hook-secret", response.text)
        rows = self.journal()
        self.assertEqual(len(rows), 2, "both bodies kept for the administrators to see")
        self.assertEqual(set(rows.mapped("event_kind")), {"unverified"})
        self.assertEqual(
            set(rows.mapped("state")), {"ignored"}, "never read nor applied"
        )
        self.assertIn("encryption key", rows[0].note)
        self.assertFalse(
            self.Message.search([("channel_id", "=", self.channel.id)]),
            "nothing applied",
        )
        alert = self.env["omnichannel.alert"].search(
            [("channel_id", "=", self.channel.id), ("kind", "=", "key_missing")]
        )
        self.assertEqual(alert.state, "open", "administrators are told")
        self.env["omnichannel.alert"]._cron_check_health()
        self.assertEqual(
            alert.state, "resolved", "the key is back: the health check closes it"
        )
        # the key is back: the provider's retry is verified and applied, the forgery is
        # still refused
        self.env.invalidate_all()
        self.assertEqual(
            self.post_webhook(
                self.channel, update, headers={SECRET_HEADER: "hook-secret"}
            ).status_code,
            200,
        )
        self.assertEqual(
            self.post_webhook(
                self.channel,
                tg_update(502, text="forged"),
                headers={SECRET_HEADER: "guess"},
            ).status_code,
            403,
        )
        self.assertEqual(
            self.Message.search([("channel_id", "=", self.channel.id)]).mapped("body"),
            ["<p>sent while the key was missing</p>"],
        )

    def test_without_the_key_the_sandbox_page_answers_503_and_stores_nothing(self):
        sandbox = self._create_channel("sandbox", name="Keyless sandbox")
        page = self.url_open(f"/omnichannel/sandbox/{sandbox.webhook_key}")
        session = re.search(r'data-session="([^"]+)"', page.text).group(1)
        token = re.search(r'data-token="([^"]+)"', page.text).group(1)
        with self.with_key(""):
            self.env.invalidate_all()
            response = self.url_open(
                f"/omnichannel/sandbox/{sandbox.webhook_key}/send",
                data=json.dumps(
                    {
                        "event_id": "ev-keyless",
                        "session": session,
                        "token": token,
                        "name": "Visitor",
                        "text": "Hi",
                    }
                ),
                headers={"Content-Type": "application/json"},
            )
        self.assertEqual(response.status_code, 503)
        self.assertFalse(self.Journal.search([("channel_id", "=", sandbox.id)]))

    def test_without_the_key_sending_is_refused_and_said(self):
        self.post_webhook(
            self.channel,
            tg_update(510, text="price?"),
            headers={SECRET_HEADER: "hook-secret"},
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        with (
            self.with_key(""),
            mute_logger(
                "odoo.addons.omnichannel_inbox.omnichannel_inbox.models.omnichannel_message"
            ),
        ):
            self.env.invalidate_all()
            self.assertIn(
                "encryption key", self.channel.with_user(self.admin).secrets_warning
            )
            with self.assertRaisesRegex(UserError, "encryption key"):
                self.channel.with_user(self.admin).action_check_webhook()
            with (
                self.assertRaisesRegex(UserError, "without the encryption key"),
                self.env.cr.savepoint(),
            ):
                self.env["omnichannel.channel"].with_user(self.admin).create(
                    {"name": "New bot", "channel_type": "telegram", "token": "888:NEW"}
                )
            sent = self.env["omnichannel.message"].panel_send(
                "omnichannel.conversation",
                conversation.id,
                conversation.id,
                text="It is 100 EUR",
            )
        message = self.Message.browse(sent["id"])
        self.assertEqual(
            message.status, "queued", "kept: it leaves once the key is back"
        )
        self.assertEqual(message.error_code, "encryption_key")
        self.assertIn("encryption key is missing", message.error_message)
        self.assertFalse(
            self.bot_api.calls("sendMessage"), "nothing reached the provider"
        )
        self.env.invalidate_all()
        self.assertFalse(self.channel.with_user(self.admin).secrets_warning)
        message.action_resend()
        self.assertEqual(message.status, "sent")
        self.assertEqual(
            self.bot_api.calls("sendMessage")[-1].fields["text"], "It is 100 EUR"
        )

    def test_a_wrong_key_opens_nothing(self):
        with self.with_key(Fernet.generate_key().decode()):
            self.env.invalidate_all()
            self.assertIn("missing or wrong", self.channel.secrets_warning)
            with self.assertRaises(crypto.KeyMissing):
                self.channel._connector_config()

    def test_rotation_round_trips(self):
        attachment = self._encrypted_file()
        before = self.raw_column(self.channel, "token")
        new_key = Fernet.generate_key().decode()
        count = self.env["omnichannel.channel"]._rotate_encryption_key(
            self.key, new_key
        )
        self.assertGreaterEqual(count, 5, "the four secrets and the file")
        after = self.raw_column(self.channel, "token")
        self.assertNotEqual(before, after)
        self.assertEqual(crypto.decrypt(after, [new_key]), "777:SECRET-TOKEN")
        with self.assertRaises(crypto.KeyMissing):
            crypto.decrypt(after, [self.key])
        with self.with_key(new_key):
            self.env.invalidate_all()
            self.assertEqual(self.channel.token, "777:SECRET-TOKEN")
            self.assertEqual(attachment.raw, b"voice of the customer")
            # and back again: a rotation is its own inverse
            self.env["omnichannel.channel"]._rotate_encryption_key(new_key, self.key)
        self.env.invalidate_all()
        self.assertEqual(self.channel._connector_config().secret, "hook-secret")
        self.assertEqual(attachment.raw, b"voice of the customer")

    def test_upgrade_encrypts_clear_values(self):
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE omnichannel_channel SET token = '777:LEGACY-CLEAR', "
            "verify_token = NULL "
            "WHERE id = %s",
            [self.channel.id],
        )
        self.env.invalidate_all()
        self.assertEqual(
            self.channel.token,
            "777:LEGACY-CLEAR",
            "a clear value still reads before migration",
        )
        path = (
            Path(__file__).parents[1] / "migrations" / "19.0.1.1.0" / "post-migrate.py"
        )
        spec = importlib.util.spec_from_file_location("omnichannel_post_migrate", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        other_before = self.raw_column(self.channel, "app_secret")
        module.migrate(self.env.cr, "19.0.1.0.0")
        self.assertEqual(
            self.raw_column(self.channel, "app_secret"),
            other_before,
            "encrypted values left alone",
        )
        stored = self.raw_column(self.channel, "token")
        self.assertTrue(stored.startswith(crypto.PREFIX))
        self.assertNotIn("LEGACY", stored)
        self.assertIsNone(
            self.raw_column(self.channel, "verify_token"), "empty stays empty"
        )
        self.env.invalidate_all()
        self.assertEqual(self.channel.token, "777:LEGACY-CLEAR")

    def _encrypted_file(self):
        self.env.company.omnichannel_encrypt_files = True
        self.post_webhook(
            self.channel,
            tg_update(520, text="call me"),
            headers={SECRET_HEADER: "hook-secret"},
        )
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        return (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": "call.mp3",
                    "raw": b"voice of the customer",
                    "mimetype": "audio/mpeg",
                    "res_model": "omnichannel.conversation",
                    "res_id": conversation.id,
                }
            )
        )


@tagged("post_install", "-at_install")
class TestFilesAtRest(KeyCase):
    CLEAR = b"ID3 recording of a call: the customer orders 40 pallets"

    def setUp(self):
        super().setUp()
        self.channel = self._create_channel("sandbox")
        self._journal_and_process(
            self.channel, [self._sandbox_event("enc-1", text="Hello")]
        )
        self.conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", self.channel.id)]
        )
        self.owner = new_test_user(
            self.env,
            "oc_enc_owner",
            password="oc_enc_owner_pw",
            groups="sales_team.group_sale_salesman",
        )
        self.stranger = new_test_user(
            self.env,
            "oc_enc_stranger",
            password="oc_enc_stranger_pw",
            groups="sales_team.group_sale_salesman",
        )
        self.conversation.sudo().write({"user_id": self.owner.id, "team_id": False})
        if self.conversation.lead_id:
            self.conversation.lead_id.sudo().write(
                {"user_id": self.owner.id, "team_id": False}
            )

    def recording(self, data=None):
        return (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": "call-1.mp3",
                    "raw": data or self.CLEAR,
                    "mimetype": "audio/mpeg",
                    "res_model": "omnichannel.conversation",
                    "res_id": self.conversation.id,
                }
            )
        )

    def on_disk(self, attachment):
        with open(attachment._full_path(attachment.store_fname), "rb") as fp:
            return fp.read()

    def test_encrypted_recording_on_disk_downloads_for_allowed_users_only(self):
        self.env.company.omnichannel_encrypt_files = True
        attachment = self.recording()
        disk = self.on_disk(attachment)
        self.assertNotEqual(disk, self.CLEAR)
        self.assertNotIn(b"40 pallets", disk)
        self.assertEqual(
            attachment.checksum,
            hashlib.sha1(self.CLEAR).hexdigest(),
            "checksum of the clear content",
        )
        self.assertEqual(attachment.file_size, len(self.CLEAR))
        self.env.invalidate_all()
        self.assertEqual(attachment.raw, self.CLEAR)

        self.authenticate("oc_enc_owner", "oc_enc_owner_pw")
        response = self.url_open(f"/web/content/{attachment.id}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, self.CLEAR)

        self.authenticate("oc_enc_stranger", "oc_enc_stranger_pw")
        response = self.url_open(f"/web/content/{attachment.id}")
        self.assertIn(response.status_code, (403, 404))
        self.assertNotIn(b"40 pallets", response.content)
        with self.assertRaises(AccessError):
            attachment.with_user(self.stranger).read(["raw"])

    def test_switch_off_leaves_files_clear_and_other_records_are_never_encrypted(self):
        attachment = self.recording()
        self.assertEqual(self.on_disk(attachment), self.CLEAR)
        self.env.company.omnichannel_encrypt_files = True
        other = self.env["ir.attachment"].create(
            {
                "name": "note.txt",
                "raw": b"a partner file",
                "res_model": "res.partner",
                "res_id": self.env.user.partner_id.id,
            }
        )
        self.assertEqual(self.on_disk(other), b"a partner file")

    def test_one_off_command_encrypts_existing_files(self):
        attachment = self.recording()
        old_fname = attachment.store_fname
        self.env.company.omnichannel_encrypt_files = True
        count = self.env["ir.attachment"]._omnichannel_encrypt_existing_files()
        self.assertGreaterEqual(count, 1)
        self.assertNotEqual(attachment.store_fname, old_fname)
        self.assertNotIn(b"40 pallets", self.on_disk(attachment))
        self.assertEqual(
            (attachment.checksum, attachment.file_size),
            (hashlib.sha1(self.CLEAR).hexdigest(), len(self.CLEAR)),
        )
        self.env.invalidate_all()
        self.assertEqual(attachment.raw, self.CLEAR)
        self.assertEqual(
            self.env["ir.attachment"]._omnichannel_encrypt_existing_files(),
            0,
            "once is enough",
        )

    def test_a_file_attached_to_a_conversation_later_is_encrypted(self):
        self.env.company.omnichannel_encrypt_files = True
        upload = self.env["ir.attachment"].create(
            {
                "name": "offer.pdf",
                "raw": b"%PDF offer for 40 pallets",
                "res_model": "mail.compose.message",
                "res_id": 0,
            }
        )
        self.assertEqual(self.on_disk(upload), b"%PDF offer for 40 pallets")
        upload.write(
            {"res_model": "omnichannel.conversation", "res_id": self.conversation.id}
        )
        self.assertNotIn(b"40 pallets", self.on_disk(upload))
        self.env.invalidate_all()
        self.assertEqual(upload.raw, b"%PDF offer for 40 pallets")

    def test_replaced_content_is_encrypted_too(self):
        self.env.company.omnichannel_encrypt_files = True
        attachment = self.recording()
        attachment.raw = b"a second take of the recording"
        self.assertNotIn(b"second take", self.on_disk(attachment))
        self.assertEqual(attachment.file_size, len(b"a second take of the recording"))
        self.env.invalidate_all()
        self.assertEqual(attachment.raw, b"a second take of the recording")
