"""Issue 10, points 5 and 8: hostile customer text, and what an Omnichannel
administrator who is not a Settings administrator cannot do."""

import time

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from ..omnichannel_inbox.models.omnichannel_inbound_event import (
    _single_email,
)
from .common import OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestAdministratorBoundaries(OmnichannelTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.oc_admin = new_test_user(
            cls.env,
            login="sec_ocadmin",
            groups="omnichannel_inbox.group_omnichannel_admin",
        )
        cls.settings_admin = new_test_user(
            cls.env,
            login="sec_sysadmin",
            groups="base.group_system,omnichannel_inbox.group_omnichannel_admin",
        )
        cls.env.company.sudo().write(
            {
                "sms_twilio_account_sid": "AC-company",
                "sms_twilio_auth_token": "company-token",
            }
        )

    def test_sms_api_address_with_the_companys_twilio_account_is_for_settings_admins(
        self,
    ):
        Channel = self.env["omnichannel.channel"]
        self.assertFalse(self.oc_admin._is_system())
        with self.assertRaises(AccessError):
            Channel.with_user(self.oc_admin).create(
                {
                    "name": "Evil SMS",
                    "channel_type": "sms",
                    "account_ref": "+12025550123",
                    "api_base_url": "https://collector.example.net",
                }
            )
        self.assertFalse(Channel.sudo().search([("name", "=", "Evil SMS")]))
        sms = Channel.with_user(self.oc_admin).create(
            {"name": "SMS line", "channel_type": "sms", "account_ref": "+12025550123"}
        )
        with self.assertRaises(AccessError):
            sms.write({"api_base_url": "https://collector.example.net"})
        self.assertFalse(sms.sudo().api_base_url)
        # Turning a channel that points elsewhere into an SMS channel is the same move.
        other = Channel.with_user(self.oc_admin).create(
            {
                "name": "Proxy bot",
                "channel_type": "telegram",
                "api_base_url": "https://collector.example.net",
            }
        )
        with self.assertRaises(AccessError):
            other.write({"channel_type": "sms", "account_ref": "+12025550124"})
        self.assertEqual(other.sudo().channel_type, "telegram")
        # A Settings administrator manages the company's Twilio account: they may.
        sms.with_user(self.settings_admin).write(
            {"api_base_url": "https://twilio-proxy.example.com"}
        )
        self.assertEqual(sms.sudo().api_base_url, "https://twilio-proxy.example.com")
        # And the Omnichannel administrator may still run the channel.
        sms.with_user(self.oc_admin).write({"name": "SMS line (office)"})

    def test_template_variables_read_only_the_allowed_fields(self):
        channel = self._create_channel("whatsapp", name="WA", account_ref="1000")
        template = (
            self.env["omnichannel.whatsapp.template"]
            .sudo()
            .create(
                {
                    "name": "probe",
                    "language": "ru",
                    "channel_id": channel.id,
                    "body": "Hello {{1}}",
                }
            )
        )
        variable = template.variable_ids.with_user(self.oc_admin)
        for path in (
            "company_id.sms_twilio_auth_token",
            "user_id.password",
            "user_id.api_key_ids",
            "partner_id.bank_ids.acc_number",
            "user_id.totp_secret",
            "create_uid.login",
        ):
            with self.assertRaises(ValidationError, msg=path):
                variable.write({"field_path": path})
        self.assertFalse(variable.field_path)
        variable.write({"field_path": "partner_id.name"})
        partner = self.env["res.partner"].create({"name": "Ivan Petrov"})
        lead = self.env["crm.lead"].create({"name": "Chairs", "partner_id": partner.id})
        self.assertEqual(variable._value_for(lead), "Ivan Petrov")
        # A path stored before the allow-list existed fills nothing.
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE omnichannel_whatsapp_template_variable SET field_path = %s "
            "WHERE id = %s",
            ["company_id.sms_twilio_auth_token", variable.id],
        )
        variable.invalidate_recordset()
        self.assertEqual(variable.sudo()._value_for(lead), "")


@tagged("post_install", "-at_install")
class TestHostileText(OmnichannelTransactionCase):
    def test_email_detection_is_linear(self):
        self.assertEqual(
            _single_email("Пишите: Ivan.Petrov@Mail.ru, спасибо!"),
            "ivan.petrov@mail.ru",
        )
        self.assertFalse(
            _single_email("a@example.com or b@example.com"), "two addresses: no guess"
        )
        # What odoo.tools.mail.email_re takes ~10 s each on: 64 KB without a
        # separator, with and without an "@".
        for text in (
            "a" * 65536,
            "a@" + "a." * 32767,
            ("x" * 300 + "@") * 200,
            ("a" * 100 + "@" + "b." * 100 + " ") * 300,
        ):
            started = time.process_time()
            _single_email(text)
            self.assertLess(time.process_time() - started, 0.5, text[:20])
        # An address after a long message is still found within the scanned part.
        self.assertEqual(
            _single_email("x" * 10000 + " anna@example.com"), "anna@example.com"
        )
