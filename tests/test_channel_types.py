from odoo.tests import Form, tagged

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.omnichannel_inbox.models.omnichannel_channel import (
    CAPABILITIES,
    COMMON_SETTINGS,
)

from .common import OmnichannelTransactionCase

#: A field of the channel form that shows only where the capability holds,
#: and a value to type in it.
FORM_FIELDS = {
    "supports_greeting": ("greeting_text", "Hello"),
    "supports_public_link": ("public_handle", "@shop"),
    "supports_send_budget": ("send_rate", 1.0),
    "supports_silence_alert": ("silence_alert_hours", 6),
    "supports_calls": ("phone_callback_minutes", 15),
}


@tagged("post_install", "-at_install")
class TestChannelTypes(OmnichannelTransactionCase):
    """What a channel type is comes from its connector alone: the type list,
    the channel account's kind, icon, colour and supports_* fields, and so
    what the channel form shows.  Adding a provider is a connector module
    and its settings view."""

    def test_selection_is_the_connector_registry(self):
        field = self.env["omnichannel.channel"]._fields["channel_type"]
        self.assertEqual(
            field.selection,
            [(cls.code, cls.label) for cls in connectors.connector_classes()],
        )
        labels = dict(field._description_selection(self.env))
        for cls in connectors.connector_classes():
            self.assertTrue(labels.get(cls.code), cls.code)
            # the reflected value: what the translations are attached to
            self.assertTrue(
                self.env.ref(
                    f"omnichannel_inbox.selection__omnichannel_channel__channel_type__{cls.code}",
                    raise_if_not_found=False,
                ),
                cls.code,
            )

    def test_fields_follow_the_connector(self):
        Channel = self.env["omnichannel.channel"]
        for cls in connectors.connector_classes():
            with self.subTest(channel_type=cls.code):
                channel = Channel.new({"name": cls.code, "channel_type": cls.code})
                self.assertEqual(channel.channel_kind, cls.kind)
                self.assertEqual(channel.channel_icon, cls.icon)
                self.assertEqual(channel.channel_color, cls.color)
                self.assertEqual(channel.supports_public_link, bool(cls.deep_link))
                for fname in CAPABILITIES:
                    self.assertEqual(channel[fname], getattr(cls, fname), fname)
                self.assertLessEqual(set(cls.common_settings), set(COMMON_SETTINGS))
                for fname in COMMON_SETTINGS:
                    self.assertEqual(
                        channel[f"shows_{fname}"], fname in cls.common_settings, fname
                    )

    def test_kind_is_searchable(self):
        Channel = self.env["omnichannel.channel"].with_context(active_test=False)
        phones = [c.code for c in connectors.connector_classes() if c.kind == "phone"]
        self.assertEqual(
            sorted(phones),
            ["asterisk", "mango", "phone_webhook", "zadarma"],
            "the phone lines",
        )
        line = Channel.create({"name": "PBX", "channel_type": "phone_webhook"})
        bot = Channel.create({"name": "Bot", "channel_type": "telegram"})
        found = Channel.search([("channel_kind", "=", "phone")])
        self.assertIn(line, found)
        self.assertNotIn(bot, found)
        self.assertEqual(
            found, Channel.search([("channel_type", "in", phones)]), "every phone line"
        )
        self.assertIn(bot, Channel.search([("channel_kind", "in", ["messenger"])]))

    def test_form_shows_what_the_type_supports(self):
        """The channel form opens for every type, and the settings that
        depend on a capability show exactly where the connector declares it."""
        admin_env = self.env(user=self.env.ref("base.user_admin"))
        for cls in connectors.connector_classes():
            with self.subTest(channel_type=cls.code):
                form = Form(admin_env["omnichannel.channel"])
                form.name = f"{cls.code} account"
                form.channel_type = cls.code
                for capability, (fname, value) in FORM_FIELDS.items():
                    supported = (
                        bool(cls.deep_link)
                        if capability == "supports_public_link"
                        else getattr(cls, capability)
                    )
                    if capability == "supports_silence_alert":
                        # in the connection group, beside the webhook address
                        supported = supported and cls.supports_connection_settings
                    if supported:
                        setattr(form, fname, value)
                    else:
                        with self.assertRaises(AssertionError, msg=fname):
                            setattr(form, fname, value)

    def test_type_labels_stay_translated(self):
        """The labels come from the connectors, and stay the reflected
        selection values that the translations are attached to."""
        self.env["res.lang"]._activate_lang("ru_RU")
        self.env["ir.module.module"]._load_module_terms(
            ["omnichannel_inbox"], ["ru_RU"], overwrite=True
        )
        env_ru = self.env(context=dict(self.env.context, lang="ru_RU"))
        labels = dict(
            env_ru["omnichannel.channel"]
            ._fields["channel_type"]
            ._description_selection(env_ru)
        )
        self.assertEqual(labels["sandbox"], "Песочница", labels)
        self.assertEqual(labels["phone_webhook"], "Телефон: универсальный вебхук АТС")
        field = env_ru["ir.model.fields"]._get("omnichannel.channel", "supports_calls")
        self.assertEqual(field.with_env(env_ru).field_description, "Принимает звонки")
