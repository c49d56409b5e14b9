"""The customer's message in the chatter (issue 16): when nobody is to be
notified of it, mail's notification pass is skipped, and it must be the same
message ``message_post`` makes otherwise; when someone is (a follower who is
not an internal user), they are still notified."""

from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update, tg_user

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@tagged("post_install", "-at_install")
class TestCustomerPost(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="123:TEST").start()
        self.addCleanup(self.bot_api.stop)
        self.salesperson, self.team = self._team_on_duty("Post team", "post_sales")
        self.channel = self._create_channel(
            "telegram",
            name="Post bot",
            token="123:TEST",
            webhook_secret="s3cret-token",
            api_base_url=self.bot_api.url,
            team_id=self.team.id,
        )
        self.update_id = 5000
        self.customer = tg_user(user_id=9100001, first_name="Olga")

    def _send(self, text):
        self.update_id += 1
        response = self.post_webhook(
            self.channel,
            tg_update(self.update_id, user=self.customer, text=text),
            headers={SECRET_HEADER: "s3cret-token"},
        )
        self.assertEqual(response.status_code, 200)
        return (
            self.env["omnichannel.message"]
            .search([("channel_id", "=", self.channel.id)], order="id desc", limit=1)
            .mail_message_id
        )

    def test_customer_message_is_a_comment_like_message_post_makes(self):
        first = self._send("Hello")
        conversation = self.env["omnichannel.conversation"].browse(first.res_id)
        self.assertEqual(conversation.user_id, self.salesperson)
        second = self._send("<b>Do you deliver?</b>")
        # What message_post itself makes of the same post, for comparison.
        control = (
            conversation.sudo()
            .with_context(mail_create_nosubscribe=True, mail_post_autofollow=False)
            .message_post(
                body="control",
                author_id=conversation.partner_id.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        )
        compared = [
            "model",
            "res_id",
            "author_id",
            "email_from",
            "reply_to",
            "message_type",
            "subtype_id",
            "is_internal",
            "email_add_signature",
            "record_alias_domain_id",
            "record_company_id",
        ]
        for message in (first, second):
            self.assertEqual(
                message.read(compared)[0] | {"id": 0},
                control.read(compared)[0] | {"id": 0},
            )
        self.assertEqual(second.author_id, conversation.partner_id)
        self.assertEqual(second.subtype_id, self.env.ref("mail.mt_comment"))
        # Threaded on the customer's previous message, as a post would be;
        # the customer's text stays text (escaped, never markup).
        self.assertEqual(second.parent_id, first)
        self.assertIn("&lt;b&gt;Do you deliver?&lt;/b&gt;", str(second.body))
        # The salesperson following the conversation hears of it through
        # the alert only, and nobody subscribed OdooBot or the customer.
        self.assertIn(self.salesperson.partner_id, conversation.message_partner_ids)
        self.assertNotIn(conversation.partner_id, conversation.message_partner_ids)
        self.assertFalse(
            self.env["mail.notification"].search(
                [("mail_message_id", "in", (first | second).ids)]
            )
        )

    def test_external_follower_is_still_notified(self):
        first = self._send("Hello")
        conversation = self.env["omnichannel.conversation"].browse(first.res_id)
        accountant = self.env["res.partner"].create(
            {"name": "Outside accountant", "email": "accountant@example.com"}
        )
        conversation.message_subscribe(partner_ids=accountant.ids)
        second = self._send("Invoice please")
        notified = self.env["mail.notification"].search(
            [("mail_message_id", "=", second.id)]
        )
        self.assertEqual(notified.res_partner_id, accountant)
        self.assertEqual(second.author_id, conversation.partner_id)
        self.assertEqual(second.parent_id, first)
