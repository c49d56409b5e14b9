from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestSecretsAccess(OmnichannelTransactionCase):
    """Channel secrets are for Omnichannel administrators only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel = cls._create_channel(
            "telegram",
            name="Secret bot",
            token="111:SECRET-TOKEN",
            webhook_secret="hook-secret",
            app_secret="app-secret",
        )
        cls.salesperson = new_test_user(
            cls.env, "oc_sales", groups="sales_team.group_sale_salesman"
        )
        cls.sales_manager = new_test_user(
            cls.env, "oc_sales_mgr", groups="sales_team.group_sale_manager"
        )
        cls.admin = new_test_user(
            cls.env, "oc_admin", groups="omnichannel_inbox.group_omnichannel_admin"
        )

    def test_salesperson_works_the_inbox_but_cannot_read_secrets(self):
        self.assertTrue(
            self.salesperson.has_group("omnichannel_inbox.group_omnichannel_user"),
            "every salesperson is an Inbox user",
        )
        channel = self.channel.with_user(self.salesperson)
        self.assertEqual(channel.name, "Secret bot", "the channel itself is visible")
        for field in (
            "token",
            "webhook_secret",
            "app_secret",
            "verify_token",
            "webhook_key",
            "api_base_url",
        ):
            with self.assertRaises(AccessError, msg=field):
                channel.read([field])
        self.assertNotIn("token", channel.fields_get())
        with self.assertRaises(AccessError):
            channel.write({"name": "renamed"})

    def test_sales_manager_is_not_a_channel_admin(self):
        channel = self.channel.with_user(self.sales_manager)
        with self.assertRaises(AccessError):
            channel.read(["token"])

    def test_admin_reads_secrets(self):
        values = self.channel.with_user(self.admin).read(["token", "webhook_secret"])[0]
        self.assertEqual(values["token"], "111:SECRET-TOKEN")

    def test_salesperson_cannot_read_the_journal(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.inbound.event"].with_user(self.salesperson).search([])
