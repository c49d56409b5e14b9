from odoo.tests import Form, tagged

from .common import OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestChannelForms(OmnichannelTransactionCase):
    """An administrator configures Viber, VK and SMS accounts in the channel
    form: each type shows its own fields (a hidden field cannot be set
    through the form) and offers the buttons its provider supports."""

    def setUp(self):
        super().setUp()
        self.admin_env = self.env(user=self.env.ref("base.user_admin"))

    def new_channel(self, channel_type):
        form = Form(self.admin_env["omnichannel.channel"])
        form.name = f"{channel_type} account"
        form.channel_type = channel_type
        return form

    def test_viber_form(self):
        form = self.new_channel("viber")
        form.token = "viber-token"
        form.viber_sender_name = "Mebel Shop"
        for hidden in (
            "webhook_secret",
            "app_secret",
            "verify_token",
            "vk_api_version",
        ):
            with self.assertRaises(AssertionError, msg=hidden):
                setattr(form, hidden, "x")
        channel = form.save()
        self.assertTrue(channel.can_register_webhook and channel.can_check_webhook)
        self.assertEqual(channel._connector_config().extra["sender_name"], "Mebel Shop")

    def test_vk_form(self):
        form = self.new_channel("vk")
        form.token = "vk-token"
        form.account_ref = "218375163"
        form.webhook_secret = "secret-key"
        form.verify_token = "a1b2c3d4"
        self.assertEqual(form.vk_api_version, "5.199")
        form.greeting_text = "Здравствуйте!"
        with self.assertRaises(AssertionError):
            form.app_secret = "x"
        channel = form.save()
        self.assertFalse(channel.can_register_webhook)
        self.assertTrue(channel.can_check_webhook)

    def test_sms_form(self):
        form = self.new_channel("sms")
        form.account_ref = "+1 (202) 555-0123"
        for hidden in (
            "token",
            "webhook_secret",
            "app_secret",
            "verify_token",
            "greeting_text",
        ):
            with self.assertRaises(AssertionError, msg=hidden):
                setattr(form, hidden, "x")
        channel = form.save()
        self.assertEqual(channel._sms_number(), "+12025550123")
        action = channel.with_user(
            self.env.ref("base.user_admin")
        ).action_open_twilio_account()
        self.assertEqual(
            action["res_model"],
            "sms.twilio.account.manage",
            "Odoo's own Twilio settings",
        )
