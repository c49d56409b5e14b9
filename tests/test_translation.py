from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestRussianTranslation(OmnichannelTransactionCase):
    """Many users work in Russian: the interface and the messages the code
    raises come in Russian for them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_russian()
        cls.env_ru = cls.env(context=dict(cls.env.context, lang="ru_RU"))

    def test_menus_and_fields_are_russian(self):
        menu = self.env.ref("omnichannel_inbox.omnichannel_menu_config").with_env(
            self.env_ru
        )
        self.assertNotEqual(menu.name, "Omnichannel")
        field = self.env_ru["ir.model.fields"]._get(
            "omnichannel.conversation", "partner_id"
        )
        self.assertEqual(field.with_env(self.env_ru).field_description, "Клиент")
        selection = dict(
            self.env_ru["omnichannel.conversation"]
            ._fields["state"]
            ._description_selection(self.env_ru)
        )
        self.assertEqual(selection["closed"], "Закрыт", selection)

    def test_errors_raised_by_the_code_are_russian(self):
        channel = self._create_channel("sandbox", name="Чат на сайте")
        self._journal_and_process(channel, [self._sandbox_event("ru1", "Здравствуйте")])
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        conversation.identity_id.write(
            {"unreachable": True, "unreachable_reason": "Заблокировал бота."}
        )
        with self.assertRaises(UserError) as error:
            conversation.with_env(self.env_ru)._post_reply("Добрый день")
        self.assertIn("нельзя связаться", str(error.exception))
