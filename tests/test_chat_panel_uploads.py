"""Files of a chat panel reply: uploaded through mail's upload route (as
mail's attachment upload service does), then sent with the reply by id."""

from odoo import Command, http
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import OmnichannelHttpCase
from .panel_uploads import pending_uploads

USER_GROUP = "omnichannel_inbox.group_omnichannel_user"
OFFER = b"%PDF offer for 40 pallets"


@tagged("post_install", "-at_install")
class TestChatPanelUploads(OmnichannelHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env, "panel_up_sales", password="panel_up_sales_pw", groups=USER_GROUP
        )
        cls.colleague = new_test_user(
            cls.env, "panel_up_colleague", password="panel_up_col_pw", groups=USER_GROUP
        )
        cls.outsider = new_test_user(
            cls.env, "panel_up_outsider", password="panel_up_out_pw", groups=USER_GROUP
        )
        cls.portal = new_test_user(
            cls.env,
            "panel_up_portal",
            password="panel_up_portal_pw",
            groups="base.group_portal",
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Panel upload team",
                "member_ids": [
                    Command.link(cls.salesman.id),
                    Command.link(cls.colleague.id),
                ],
            }
        )

    def setUp(self):
        super().setUp()
        channel = self._create_channel(
            "sandbox", name="Upload chat", team_id=self.team.id
        )
        self._journal_and_process(
            channel, [self._sandbox_event("up-1", text="Пришлите счёт")]
        )
        self.conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        self.conversation.sudo().write(
            {"user_id": self.salesman.id, "team_id": self.team.id}
        )

    def upload(self, login, password, name=b"offer.pdf", data=OFFER, thread=None):
        """POST a file to mail's upload route as the chat panel does (pending)."""
        thread = thread or self.conversation
        self.authenticate(login, password)
        return self.url_open(
            "/mail/attachment/upload",
            {
                "csrf_token": http.Request.csrf_token(self),
                "thread_id": thread.id,
                "thread_model": thread._name,
                "is_pending": "true",
            },
            files={"ufile": (name.decode(), data, "application/pdf")},
        )

    def on_disk(self, attachment):
        with open(attachment._full_path(attachment.store_fname), "rb") as fp:
            return fp.read()

    def send(self, user, attachment_ids, text="The offer"):
        return (
            self.env["omnichannel.message"]
            .with_user(user)
            .panel_send(
                "omnichannel.conversation",
                self.conversation.id,
                self.conversation.id,
                text=text,
                attachment_ids=attachment_ids,
            )
        )

    def test_uploaded_file_is_sent_and_encrypted_on_the_conversation(self):
        self.env.company.omnichannel_encrypt_files = True
        response = self.upload("panel_up_sales", "panel_up_sales_pw")
        self.assertEqual(response.status_code, 200)
        upload = self.env["ir.attachment"].browse(
            response.json()["data"]["attachment_id"]
        )
        self.assertEqual(
            (upload.res_model, upload.res_id, upload.create_uid),
            ("mail.compose.message", 0, self.salesman),
            "pending: on no record until the reply is sent",
        )
        sent = self.send(self.salesman, [upload.id])
        self.assertEqual(sent["status"], "sent")
        self.assertEqual([a["id"] for a in sent["attachments"]], upload.ids)
        self.assertEqual(
            (upload.res_model, upload.res_id),
            ("omnichannel.conversation", self.conversation.id),
        )
        self.assertTrue(
            upload.store_fname.startswith("oc-enc-"), "encrypted at rest like any file"
        )
        self.assertNotIn(b"40 pallets", self.on_disk(upload))
        self.env.invalidate_all()
        self.assertEqual(upload.raw, OFFER)

    @mute_logger("odoo.http")
    def test_who_cannot_read_the_conversation_cannot_upload_to_it(self):
        count = self.env["ir.attachment"].search_count([])
        for login, password in (
            ("panel_up_outsider", "panel_up_out_pw"),
            ("panel_up_portal", "panel_up_portal_pw"),
        ):
            response = self.upload(login, password)
            self.assertEqual(response.status_code, 404, login)
        self.assertEqual(
            self.env["ir.attachment"].search_count([]), count, "nothing stored"
        )

    def test_a_reply_sends_only_the_files_its_author_uploaded_for_it(self):
        theirs = pending_uploads(self.env(user=self.colleague), ("theirs.pdf", OFFER))
        on_a_record = self.env["ir.attachment"].create(
            {
                "name": "contract.pdf",
                "raw": OFFER,
                "res_model": "res.partner",
                "res_id": self.salesman.partner_id.id,
            }
        )
        mine = pending_uploads(self.env(user=self.salesman), ("mine.pdf", OFFER))
        for attachment in (theirs, on_a_record):
            with self.assertRaises(AccessError, msg=attachment.name):
                self.send(self.salesman, (mine | attachment).ids)
        self.assertFalse(
            self.conversation.omnichannel_message_ids.filtered(
                lambda m: m.direction == "out"
            ),
            "nothing sent",
        )
        self.assertEqual(mine.res_model, "mail.compose.message", "still pending")

    def test_files_leave_in_the_order_they_were_chosen(self):
        first, second = pending_uploads(
            self.env(user=self.salesman), ("1.pdf", OFFER), ("2.pdf", OFFER)
        )
        Message = self.env["omnichannel.message"].with_user(self.salesman)
        self.assertEqual(
            Message._panel_uploads([second.id, first.id, second.id]).ids,
            [second.id, first.id],
        )
