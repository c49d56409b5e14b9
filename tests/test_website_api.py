from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import OmnichannelHttpCase

API_KEY_HEADER = "X-Omnichannel-Api-Key"


def create_widget_accounts(case):
    """The accounts the widget tests offer: two with a handle, an archived
    one and one without a handle (both left out)."""
    case.env["omnichannel.channel"].search(
        [("company_id", "=", case.env.company.id)]
    ).write({"public_handle": False})
    case._create_channel(
        "telegram", name="Shop bot", public_handle="@tour_shop_bot", token="1:tour"
    )
    case._create_channel(
        "whatsapp", name="Shop WhatsApp", public_handle="+7 (912) 345-67-89"
    )
    case._create_channel(
        "viber", name="Old Viber", public_handle="oldshop", active=False
    )
    case._create_channel("vk", name="VK community")


@tagged("post_install", "-at_install")
class TestWebsiteLeadApi(OmnichannelHttpCase):
    """The website lead API: one channel account per source, its API key in a
    header, submissions journaled and linked by the identity rules."""

    def setUp(self):
        super().setUp()
        self.channel = self._create_channel(
            "website", name="Landing page", webhook_secret="landing-api-key"
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()

    def submit(self, body, key="landing-api-key"):
        headers = {API_KEY_HEADER: key} if key is not None else {}
        return self.post_webhook(self.channel, body, headers=headers)

    def journal(self):
        return self.Journal.search([("channel_id", "=", self.channel.id)])

    def test_bad_or_missing_key_is_403_and_nothing_stored(self):
        partners = self.env["res.partner"].search_count([])
        leads = self.env["crm.lead"].search_count([])
        for key in ("wrong", "", None, "LANDING-API-KEY"):
            response = self.submit(
                {"name": "Spam", "email": "spam@example.com"}, key=key
            )
            self.assertEqual(response.status_code, 403, key)
            self.assertNotIn("landing-api-key", response.text)
        self.assertFalse(self.journal())
        self.assertEqual(self.env["res.partner"].search_count([]), partners)
        self.assertEqual(self.env["crm.lead"].search_count([]), leads)

    def test_malformed_submissions_are_400_and_nothing_stored(self):
        for body in (
            b"{not json",
            b"[]",
            {"name": "No contact"},
            {"email": "not-an-address"},
            {"email": "a@example.com", "name": 5},
            {"phone": "call me"},
            {"email": "a@example.com", "page_url": "javascript:alert(1)"},
            {"email": "a@example.com", "message": "x" * 20001},
        ):
            response = self.submit(body)
            self.assertEqual(response.status_code, 400, body)
            self.assertIn("error", response.json())
        self.assertFalse(self.journal())

    def test_new_person_creates_customer_and_lead_with_utm(self):
        response = self.submit(
            {
                "submission_id": "landing-0001",
                "name": "Anna Smirnova",
                "email": "anna@client.example.org",
                "phone": "8 (912) 345-67-89",
                "message": "I need 40 chairs for a new office.",
                "page_url": "https://shop.example.com/chairs?utm_source=google",
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "Spring chairs",
            }
        )
        self.assertEqual(response.status_code, 201, response.text)
        answer = response.json()
        self.assertEqual(
            (answer["status"], answer["submission_id"]), ("created", "landing-0001")
        )
        lead = self.env["crm.lead"].browse(answer["lead_id"])
        partner = lead.partner_id
        self.assertEqual(partner.id, answer["partner_id"])
        self.assertEqual(
            (partner.name, partner.email, partner.phone_sanitized),
            ("Anna Smirnova", "anna@client.example.org", "+79123456789"),
        )
        self.assertEqual(
            (
                lead.source_id.name.lower(),
                lead.medium_id.name.lower(),
                lead.campaign_id.name,
            ),
            ("google", "cpc", "Spring chairs"),
        )
        self.assertIn("40 chairs", lead.description)
        message = self.Message.search([("channel_id", "=", self.channel.id)])
        self.assertEqual((message.message_type, message.lead_id), ("form", lead))
        shown = self.Message.panel_fetch("crm.lead", lead.id)
        self.assertIn("I need 40 chairs", shown["messages"][0]["body"])
        self.assertIn(
            "https://shop.example.com/chairs",
            shown["messages"][0]["body"],
            "the page it came from",
        )
        self.assertFalse(
            [c for c in shown["conversations"] if c["channel_type"] == "website"],
            "a form cannot be answered on the website",
        )
        self.assertEqual(
            [c["channel_type"] for c in shown["conversations"]],
            ["email"],
            "the author of a form is answered by email",
        )

    def test_form_author_is_answered_by_email(self):
        response = self.submit(
            {
                "submission_id": "ask-1",
                "name": "Vera",
                "email": "vera@client.example.org",
                "message": "Do you deliver to Kazan?",
            }
        )
        lead = self.env["crm.lead"].browse(response.json()["lead_id"])
        form = self.Message.search(
            [("channel_id", "=", self.channel.id)]
        ).conversation_id
        self.assertEqual(form.state, "open", "the author waits for an answer")
        with self.assertRaises(UserError):
            self.Message.panel_send("crm.lead", lead.id, form.id, text="Yes")
        targets = self.Message.panel_fetch("crm.lead", lead.id)
        sent = self.Message.panel_send(
            "crm.lead",
            lead.id,
            targets["default_conversation_id"],
            text="Yes, in 3 days.",
        )
        self.assertEqual((sent["channel_type"], sent["status"]), ("email", "sent"))
        self.assertEqual(
            (form.state, form.waiting_since),
            ("waiting", False),
            "the email answered the form: it no longer waits",
        )
        self.assertTrue(form.first_response_date)

    def test_without_utm_the_source_is_the_channel(self):
        response = self.submit(
            {"submission_id": "x-1", "name": "Boris", "phone": "+7 913 000-00-01"}
        )
        self.assertEqual(response.status_code, 201)
        lead = self.env["crm.lead"].browse(response.json()["lead_id"])
        self.assertEqual(lead.source_id, self.channel.source_id)
        self.assertEqual(lead.medium_id, self.env.ref("utm.utm_medium_website"))

    def test_known_email_or_phone_is_only_suggested(self):
        """Anyone can type a customer's email or phone into a form: the
        submission stays apart from that customer (whose history a reply
        would otherwise show) until a salesperson confirms."""
        customer = self.env["res.partner"].create(
            {
                "name": "Olga Ivanova",
                "email": "olga@client.example.org",
                "phone": "+7 912 111-22-33",
            }
        )
        lead = self.env["crm.lead"].create(
            {"name": "Olga: desks", "partner_id": customer.id}
        )
        by_email = self.submit(
            {
                "submission_id": "k-1",
                "name": "Olga",
                "email": "OLGA@client.example.org",
                "message": "And chairs too",
            }
        )
        by_phone = self.submit(
            {
                "submission_id": "k-2",
                "name": "Olga I.",
                "phone": "8 912 111 22 33",
                "message": "Call me back",
            }
        )
        for response in (by_email, by_phone):
            self.assertEqual(response.status_code, 201, response.text)
            self.assertNotEqual(response.json()["partner_id"], customer.id)
            self.assertNotEqual(response.json()["lead_id"], lead.id)
        self.assertFalse(
            self.Message.panel_fetch("crm.lead", lead.id)["messages"],
            "nothing joined Olga's history",
        )
        suggestions = self.env["omnichannel.identity.suggestion"].search(
            [("identity_id.channel_id", "=", self.channel.id)]
        )
        self.assertEqual(sorted(suggestions.mapped("reason")), ["email", "phone"])
        self.assertEqual(suggestions.partner_id, customer)
        suggestions.action_confirm()
        self.assertEqual(
            len(self.Message.panel_fetch("crm.lead", lead.id)["messages"]), 2
        )
        self.assertEqual(
            self.env["crm.lead"].search_count([("partner_id", "=", customer.id)]),
            1,
            "no duplicate lead",
        )

    def test_replayed_submission_is_stored_once(self):
        body = {
            "submission_id": "form-42",
            "name": "Dmitry",
            "email": "dmitry@client.example.org",
            "message": "Hi",
        }
        first = self.submit(body)
        second = self.submit(body)
        self.assertEqual((first.status_code, second.status_code), (201, 200))
        self.assertEqual(second.json()["status"], "duplicate")
        self.assertEqual(first.json()["lead_id"], second.json()["lead_id"])
        self.assertEqual(len(self.journal()), 1)
        self.assertEqual(
            self.Message.search_count([("channel_id", "=", self.channel.id)]), 1
        )
        # Without a client id, an identical body (a double click) is the same
        # submission.
        body.pop("submission_id")
        self.assertEqual([self.submit(body).status_code for _i in range(2)], [201, 200])

    def test_deferred_processing_answers_202(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.deferred_processing", "1"
        )
        response = self.submit(
            {"submission_id": "later-1", "email": "later@client.example.org"}
        )
        self.assertEqual(response.status_code, 202)
        self.assertEqual(
            response.json(),
            {"submission_id": "later-1", "status": "accepted", "lead_id": None},
        )
        self.assertEqual(
            self.journal().state, "pending", "journaled, processed by the cron"
        )

    def test_contact_page_posts_to_the_same_pipeline(self):
        page = self.url_open(
            f"/omnichannel/contact/{self.channel.webhook_key}?utm_source=newsletter"
        )
        self.assertEqual(page.status_code, 200)
        self.assertIn('name="submission_id"', page.text)
        self.assertNotIn(
            "landing-api-key", page.text, "the page never shows the API key"
        )
        form = {
            "submission_id": "page-1",
            "name": "Elena",
            "email": "",
            "phone": "",
            "message": "Hello",
            "utm_source": "newsletter",
        }
        refused = self.url_open(
            f"/omnichannel/contact/{self.channel.webhook_key}", data=form
        )
        self.assertEqual(refused.status_code, 400)
        self.assertIn("email address or a phone number", refused.text)
        self.assertFalse(self.journal())
        robot = self.url_open(
            f"/omnichannel/contact/{self.channel.webhook_key}",
            data=dict(
                form, email="bot@spam.example.com", website="http://spam.example.com"
            ),
        )
        self.assertEqual(robot.status_code, 200)
        self.assertFalse(
            self.journal(), "the honeypot field was filled: nothing stored"
        )
        for _twice in range(2):
            sent = self.url_open(
                f"/omnichannel/contact/{self.channel.webhook_key}",
                data=dict(form, email="elena@client.example.org"),
            )
            self.assertEqual(sent.status_code, 200)
            self.assertIn("Thank you", sent.text)
        row = self.journal()
        self.assertEqual(
            (len(row), row.state), (1, "done"), "journaled once, like a webhook"
        )
        lead = row.message_id.lead_id
        self.assertEqual(
            (lead.partner_id.email, lead.source_id.name.lower()),
            ("elena@client.example.org", "newsletter"),
        )

    def test_widget_offers_the_configured_channels(self):
        create_widget_accounts(self)
        data = self.url_open(f"/omnichannel/widget/{self.env.company.id}").json()
        links = {c["type"]: c["url"] for c in data["channels"]}
        self.assertEqual(links.pop("telegram"), "https://t.me/tour_shop_bot")
        self.assertEqual(links.pop("whatsapp"), "https://wa.me/79123456789")
        livechat = self.env["omnichannel.channel"].search(
            [("channel_type", "=", "livechat")], limit=1
        )
        self.assertEqual(
            links.pop("livechat"),
            f"{livechat.get_base_url()}/im_livechat/support/{livechat.livechat_channel_id.id}",
        )
        self.assertFalse(
            links,
            "archived accounts and accounts without a public handle are not offered",
        )
        self.assertEqual(self.url_open("/omnichannel/widget/999999").status_code, 404)

    def test_deep_links(self):
        cases = [
            ("viber", "shopchat", "viber://pa?chatURI=shopchat"),
            ("vk", "club_shop", "https://vk.me/club_shop"),
            ("messenger", "ShopPage", "https://m.me/ShopPage"),
            ("instagram", "@shop", "https://ig.me/m/shop"),
            ("telegram", "https://t.me/other_bot", "https://t.me/other_bot"),
            ("email", "Sales@Shop.example.com", "mailto:sales@shop.example.com"),
        ]
        for channel_type, handle, link in cases:
            channel = self._create_channel(channel_type, public_handle=handle)
            self.assertEqual(channel.public_link, link, channel_type)
