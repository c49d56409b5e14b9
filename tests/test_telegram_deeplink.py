"""Telegram deep links carry a campaign: ``t.me/<bot>?start=<payload>`` links
made in Odoo, and the website widget's Telegram button with the visitor's
UTM, land on the lead through the real webhook; payloads that are not ours
create nothing and break nothing."""

import urllib.parse

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update, tg_user
from .test_telegram import SECRET_HEADER


@tagged("post_install", "-at_install")
class TestTelegramDeepLinks(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="123:LINK").start()
        self.addCleanup(self.bot_api.stop)
        self.env["omnichannel.channel"].search(
            [("company_id", "=", self.env.company.id)]
        ).write({"public_handle": False})
        self.channel = self._create_channel(
            "telegram",
            name="Shop bot",
            token="123:LINK",
            webhook_secret="tg-link",
            api_base_url=self.bot_api.url,
            public_handle="@shop_bot",
            greeting_text="Welcome to the shop!",
        )
        self.Message = self.env["omnichannel.message"].sudo()
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.source = self.env["utm.source"].create({"name": "Flyer DL"})
        self.medium = self.env["utm.medium"].create({"name": "Print DL"})
        self.campaign = self.env["utm.campaign"].create({"name": "Spring sale DL"})

    def send(self, update_id, text, user=None):
        response = self.post_webhook(
            self.channel,
            tg_update(update_id, user=user, text=text),
            headers={SECRET_HEADER: "tg-link"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        row = self.Journal.search(
            [
                ("channel_id", "=", self.channel.id),
                ("provider_event_id", "=", str(update_id)),
            ]
        )
        self.assertEqual(row.state, "done", row.note)
        return self.Message.search(
            [("channel_id", "=", self.channel.id), ("direction", "=", "in")],
            order="id desc",
            limit=1,
        )

    def greetings(self):
        return [c.fields["text"] for c in self.bot_api.calls("sendMessage")]

    def utm(self, lead):
        return (lead.source_id, lead.medium_id, lead.campaign_id)

    def utm_counts(self):
        return tuple(
            self.env[model].with_context(active_test=False).search_count([])
            for model in ("utm.source", "utm.medium", "utm.campaign")
        )

    def test_link_made_in_odoo_puts_its_campaign_on_the_lead(self):
        link = self.env["omnichannel.deep.link"].create(
            {
                "name": "Flyer at the fair",
                "channel_id": self.channel.id,
                "source_id": self.source.id,
                "medium_id": self.medium.id,
                "campaign_id": self.campaign.id,
            }
        )
        self.assertEqual(link.url, f"https://t.me/shop_bot?start={link.code}")
        message = self.send(1, f"/start {link.code}")
        lead = message.conversation_id.lead_id
        self.assertEqual(self.utm(lead), (self.source, self.medium, self.campaign))
        self.assertEqual(lead.omnichannel_deep_link_id, link)
        # The salesperson reads where the customer came from, not a code.
        self.assertIn("Started the bot from the link Flyer at the fair", message.body)
        self.assertNotIn(link.code, message.body)
        self.assertEqual(self.greetings(), ["Welcome to the shop!"])
        link.invalidate_recordset(["lead_count"])
        self.assertEqual(link.lead_count, 1)
        # A retry of the same update is one message, one lead.
        self.send(1, f"/start {link.code}")
        self.assertEqual(
            self.Message.search_count(
                [("channel_id", "=", self.channel.id), ("direction", "=", "in")]
            ),
            1,
        )

    def test_open_lead_keeps_its_first_campaign(self):
        other = self.env["utm.campaign"].create({"name": "Autumn DL"})
        first = self.send(2, "hello")
        lead = first.conversation_id.lead_id
        self.assertFalse(lead.campaign_id)
        link = self.env["omnichannel.deep.link"].create(
            {
                "name": "Story",
                "channel_id": self.channel.id,
                "code": "story_1",
                "campaign_id": self.campaign.id,
            }
        )
        self.send(3, "/start story_1")
        self.assertEqual(lead.campaign_id, self.campaign, "a lead without one takes it")
        self.assertEqual(lead.omnichannel_deep_link_id, link)
        later = self.env["omnichannel.deep.link"].create(
            {
                "name": "Post",
                "channel_id": self.channel.id,
                "code": "post_2",
                "campaign_id": other.id,
            }
        )
        self.send(4, "/start post_2")
        self.assertEqual(lead.campaign_id, self.campaign, "the first campaign stays")
        self.assertEqual(lead.omnichannel_deep_link_id, link)
        self.assertIn(
            "Autumn DL",
            " ".join(lead.message_ids.mapped("body")),
            "the lead still says the customer came through the later link",
        )
        self.assertFalse(later.lead_ids)

    def test_payload_that_is_not_ours_creates_nothing_and_is_greeted(self):
        message = self.send(5, "/start xyz")
        lead = message.conversation_id.lead_id
        self.assertEqual(lead.source_id, self.channel.source_id)
        self.assertFalse(lead.campaign_id)
        self.assertFalse(lead.omnichannel_deep_link_id)
        self.assertIn("/start xyz", message.body, "kept as it was typed")
        self.assertEqual(self.greetings(), ["Welcome to the shop!"])
        self.assertFalse(
            self.env["utm.source"]
            .with_context(active_test=False)
            .search([("name", "=ilike", "xyz")])
        )
        before = self.utm_counts()
        # Names, ids of nothing, damaged ids, what Telegram would not send:
        # not one utm record more.
        for update_id, text in enumerate(
            [
                "/start new_src__new_medium__new_campaign",
                "/start utm-zik0zj-zik0zj-zik0zj",
                "/start utm-1-2",
                "/start " + "q" * 90,
            ],
            start=6,
        ):
            user = tg_user(5551000 + update_id, "Guest", str(update_id), "")
            lead = self.send(update_id, text, user=user).conversation_id.lead_id
            self.assertFalse(lead.campaign_id, text)
        self.assertEqual(self.utm_counts(), before)

    def test_hand_written_names_of_existing_records_still_work(self):
        message = self.send(
            20, "/start flyer_dl__print_dl__xx_unknown", user=tg_user(5552000)
        )
        lead = message.conversation_id.lead_id
        self.assertEqual(lead.source_id, self.source, "names match whatever the case")
        self.assertEqual(lead.medium_id, self.medium)
        self.assertFalse(lead.campaign_id, "a campaign nobody made is not created")
        self.assertIn("Started the bot from a link: Flyer DL / Print DL", message.body)

    def widget_links(self, **utm):
        query = urllib.parse.urlencode(utm)
        response = self.url_open(f"/omnichannel/widget/{self.env.company.id}?{query}")
        self.assertEqual(response.status_code, 200)
        return {c["type"]: c["url"] for c in response.json()["channels"]}

    def test_widget_link_carries_the_visitor_utm_to_the_lead(self):
        self._create_channel(
            "whatsapp", name="Shop WhatsApp", public_handle="+7 (912) 345-67-89"
        )
        links = self.widget_links(
            utm_source="flyer dl",
            utm_medium="Print DL",
            utm_campaign="Spring sale DL",
        )
        self.assertEqual(links["whatsapp"], "https://wa.me/79123456789")
        url = urllib.parse.urlsplit(links["telegram"])
        self.assertEqual((url.netloc, url.path), ("t.me", "/shop_bot"))
        [payload] = urllib.parse.parse_qs(url.query)["start"]
        self.assertRegex(payload, r"^[A-Za-z0-9_-]{1,64}$")
        # The visitor presses Start: Telegram sends the payload back.
        lead = self.send(30, f"/start {payload}").conversation_id.lead_id
        self.assertEqual(self.utm(lead), (self.source, self.medium, self.campaign))
        self.assertFalse(lead.omnichannel_deep_link_id)
        before = self.utm_counts()

        # UTM names nobody made: the link has no payload and nothing is created.
        links = self.widget_links(utm_source="x" * 300, utm_campaign="brand_new_dl")
        self.assertEqual(links["telegram"], "https://t.me/shop_bot")
        self.assertEqual(self.utm_counts(), before)
        # Only the known part travels.
        links = self.widget_links(utm_campaign="spring sale dl", utm_source="nobody")
        [payload] = urllib.parse.parse_qs(
            urllib.parse.urlsplit(links["telegram"]).query
        )["start"]
        lead = self.send(
            31, f"/start {payload}", user=tg_user(5553000)
        ).conversation_id.lead_id
        self.assertEqual(lead.campaign_id, self.campaign)
        self.assertEqual(lead.source_id, self.channel.source_id)
        self.assertEqual(self.utm_counts(), before)

    def test_link_codes_and_rights(self):
        Link = self.env["omnichannel.deep.link"]
        for code in ("a b", "x" * 65, "utm-1-2-3", "привет"):
            with self.assertRaises(ValidationError), self.cr.savepoint():
                Link.create(
                    {"name": "Bad", "channel_id": self.channel.id, "code": code}
                )
        link = Link.create({"name": "Default code", "channel_id": self.channel.id})
        self.assertRegex(link.code, r"^[a-z0-9]{8}$")
        salesperson = new_test_user(
            self.env,
            login="dl_salesperson",
            groups="sales_team.group_sale_salesman,omnichannel_inbox.group_omnichannel_user",
        )
        self.assertEqual(
            Link.with_user(salesperson).search([("id", "=", link.id)]), link
        )
        with self.assertRaises(AccessError):
            Link.with_user(salesperson).create(
                {"name": "Mine", "channel_id": self.channel.id}
            )
        with self.assertRaises(AccessError):
            link.with_user(salesperson).write({"code": "changed"})
