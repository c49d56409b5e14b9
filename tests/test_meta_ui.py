import time

from odoo.tests import tagged

from .common import OmnichannelHttpCase
from .fake_meta import FakeGraphServer, MetaWebhookMixin, wa_message

PHONE_ID = "106540352242922"


@tagged("post_install", "-at_install")
class TestWhatsAppTours(MetaWebhookMixin, OmnichannelHttpCase):
    """Replying on WhatsApp from the lead form, in a real browser."""

    def setUp(self):
        super().setUp()
        self.graph = FakeGraphServer(tokens=("EAAG-TOUR",)).start()
        self.addCleanup(self.graph.stop)
        self.channel = self._create_channel(
            "whatsapp",
            name="WhatsApp sales",
            token="EAAG-TOUR",
            app_secret="tour-secret",
            verify_token="tour",
            account_ref=PHONE_ID,
            api_base_url=self.graph.api_url,
        )

    def customer_writes(self, wa_id, name, text, hours_ago=0, channel=None):
        channel = channel or self.channel
        body = wa_message(
            channel.account_ref,
            wa_id,
            f"wamid.tour{time.monotonic_ns()}",
            "text",
            {"body": text},
            name=name,
            timestamp=time.time() - hours_ago * 3600,
        )
        self.assertEqual(self.post_meta(channel, body).status_code, 200)
        return self.env["omnichannel.conversation"].search(
            [
                ("channel_id", "=", channel.id),
                ("identity_id.provider_user_id", "=", wa_id),
            ]
        )

    def test_reply_on_whatsapp_from_the_lead(self):
        support = self._create_channel(
            "whatsapp",
            name="WhatsApp support",
            token="EAAG-TOUR",
            app_secret="tour-secret",
            verify_token="tour2",
            account_ref="200000000000002",
            api_base_url=self.graph.api_url,
        )
        self.customer_writes(
            "79125554433",
            "Anna Smirnova",
            "Вопрос по гарантии",
            hours_ago=2,
            channel=support,
        )
        lead = self.customer_writes(
            "79125554433", "Anna Smirnova", "Есть кресла в наличии?"
        ).lead_id
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_whatsapp_reply_tour",
            login="admin",
        )
        self.assertEqual(
            [(s["to"], s["text"]["body"]) for s in self.graph.sent(PHONE_ID)],
            [("79125554433", "Да, 40 штук на складе")],
            "the reply really left through the Cloud API",
        )
        self.assertEqual(
            [(s["to"], s["text"]["body"]) for s in self.graph.sent("200000000000002")],
            [("79125554433", "Поддержка на связи")],
            "from the number the user picked",
        )

    def test_template_from_the_lead_outside_the_window(self):
        Template = self.env["omnichannel.whatsapp.template"]
        for name, body in (
            ("order_follow_up", "Здравствуйте, {{1}}! Удобно продолжить разговор?"),
            ("price_update", "{{1}}, цены на кресла обновились. Прислать новый прайс?"),
        ):
            template = Template.create(
                {
                    "name": name,
                    "language": "ru",
                    "channel_id": self.channel.id,
                    "body": body,
                }
            )
            template.variable_ids.field_path = "partner_id.name"
        lead = self.customer_writes(
            "79160007788", "Boris Orlov", "Пришлите прайс", hours_ago=48
        ).lead_id
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_whatsapp_template_tour",
            login="admin",
        )
        sent = self.graph.sent(PHONE_ID)
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["type"], "template")
        self.assertEqual(
            sent[0]["template"],
            {
                "name": "price_update",
                "language": {"code": "ru"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": "Boris Orlov"}],
                    }
                ],
            },
        )

    def test_connect_a_number_from_the_channel_form(self):
        self.start_tour(
            "/odoo/action-omnichannel_inbox.omnichannel_channel_action/new",
            "omnichannel_whatsapp_setup_tour",
            login="admin",
        )
        channel = self.env["omnichannel.channel"].search(
            [("name", "=", "WhatsApp from the UI")]
        )
        self.assertEqual(
            (
                channel.channel_type,
                channel.account_ref,
                channel.whatsapp_business_account_id,
            ),
            ("whatsapp", "106540352242922", "1029384756"),
        )
        self.assertEqual(
            (channel.token, channel.app_secret, channel.verify_token),
            ("EAAG-TOUR", "tour-secret", "my-verify-token"),
        )
        # The tour cannot know the fake Graph API's port: the API address is the one
        # field set here.
        channel.api_base_url = self.graph.api_url
        self.graph.nodes[PHONE_ID] = {
            "id": PHONE_ID,
            "display_phone_number": "+7 495 555-01-01",
            "verified_name": "Office Chairs LLC",
            "quality_rating": "GREEN",
        }
        self.graph.templates["1029384756"] = [
            {
                "name": "order_follow_up",
                "language": "ru",
                "status": "APPROVED",
                "category": "UTILITY",
                "id": "111",
                "components": [{"type": "BODY", "text": "Здравствуйте, {{1}}!"}],
            }
        ]
        self.start_tour(
            f"/odoo/action-omnichannel_inbox.omnichannel_channel_action/{channel.id}",
            "omnichannel_whatsapp_check_tour",
            login="admin",
        )
        self.assertTrue(
            self.graph.api_calls("GET", PHONE_ID),
            "the check asked Meta about the number",
        )
