"""The chat panel, the inbox and the call popup on a phone (390x844, touch),
in Odoo's web client."""

from odoo.tests import tagged

from . import test_call_popup
from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update


@tagged("post_install", "-at_install")
class TestMobileChatTour(OmnichannelHttpCase):
    browser_size = "390x844"
    touch_enabled = True

    def test_answer_a_telegram_customer_on_a_phone(self):
        bot_api = FakeTelegramServer(token="557:MOBILE").start()
        self.addCleanup(bot_api.stop)
        channel = self._create_channel(
            "telegram",
            name="Mobile bot",
            token="557:MOBILE",
            webhook_secret="mobile",
            api_base_url=bot_api.url,
        )
        for update_id, text in ((1, "Добрый день!"), (2, "Сколько стоит доставка?")):
            response = self.post_webhook(
                channel,
                tg_update(update_id, text=text),
                headers={"X-Telegram-Bot-Api-Secret-Token": "mobile"},
            )
            self.assertEqual(response.status_code, 200)
        conversation = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        self.start_tour(
            f"/odoo/crm.lead/{conversation.lead_id.id}",
            "omnichannel_mobile_chat_tour",
            login="admin",
        )
        self.assertEqual(
            bot_api.calls("sendMessage")[-1].fields["text"],
            "Доставка бесплатная",
            "the answer written on the phone reached Telegram",
        )


@tagged("post_install", "-at_install")
class TestMobileCallPopupTour(test_call_popup.TestCallPopupTour):
    """The same ringing call as TestCallPopupTour, on a phone: the popup's
    tour checks that it lies within the window."""

    browser_size = "390x844"
    touch_enabled = True
    # Odoo's loader runs inherited test methods only when asked.
    allow_inherited_tests_method = True
