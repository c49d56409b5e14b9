"""Call tracking: a company number's UTM on the leads of its callers
(static), and a website pool whose numbers are reserved per visitor session
and bring the session's UTM to the lead of a call (dynamic).  Calls are
posted as the PBX posts them (generic webhook) and as Zadarma does."""

import json
import time
from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import tagged

from .test_calls import PBX_SECRET, WIDE_REPLAY_WINDOW, CallsCase, pbx_headers


@tagged("post_install", "-at_install")
class TestCallTracking(CallsCase):
    def setUp(self):
        super().setUp()
        self.line = self._line(
            "phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET
        )
        self.site = self._create_channel("website", name="Our site")
        self.Number = self.env["omnichannel.tracking.number"].sudo()
        self.utm = self.env["utm.mixin"]
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.rate_limit_per_address", 0
        )

    def call(self, call_id, our_number, customer="+7 903 555-01-02", answered=False):
        now = time.time()
        events = [
            {
                "event_id": call_id + "-r",
                "call_id": call_id,
                "event": "ringing",
                "direction": "in",
                "customer_number": customer,
                "our_number": our_number,
                "timestamp": now - 20,
            }
        ]
        if answered:
            events.append(
                {
                    "event_id": call_id + "-a",
                    "call_id": call_id,
                    "event": "answered",
                    "extension": "101",
                    "timestamp": now - 10,
                }
            )
        events.append(
            {
                "event_id": call_id + "-e",
                "call_id": call_id,
                "event": "ended",
                "timestamp": now,
            }
        )
        body = json.dumps({"events": events}).encode()
        self.assertEqual(
            self.post_webhook(
                self.line, body, headers=pbx_headers(PBX_SECRET, body)
            ).status_code,
            200,
        )
        self.env.invalidate_all()
        return self.Call.search(
            [("channel_id", "=", self.line.id), ("provider_call_id", "=", call_id)]
        )

    def reserve(self, **params):
        response = self.url_open(
            f"/omnichannel/tracking/{self.site.sudo().webhook_key}",
            data=json.dumps(params).encode(),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_static_number_puts_its_campaign_on_the_new_lead(self):
        campaign = self.utm._find_or_create_record("utm.campaign", "Metro posters")
        source = self.utm._find_or_create_record("utm.source", "Posters")
        medium = self.utm._find_or_create_record("utm.medium", "Offline")
        number = self.Number.create(
            {
                "name": "+7 495 111-22-33",
                "channel_id": self.line.id,
                "source_id": source.id,
                "medium_id": medium.id,
                "campaign_id": campaign.id,
            }
        )
        self.assertEqual(number.number_sanitized, "+74951112233")
        call = self.call("t1", "84951112233")
        lead = call.conversation_id.lead_id
        self.assertEqual(
            (
                lead.source_id,
                lead.medium_id,
                lead.campaign_id,
                lead.omnichannel_tracking_number_id,
            ),
            (source, medium, campaign, number),
        )
        self.assertEqual(call.tracking_number_id, number)
        # A call to the main number: the phone channel's own source, no campaign.
        other = self.call("t2", "+74959999999", customer="+7 903 555-77-77")
        self.assertEqual(
            other.conversation_id.lead_id.source_id,
            self.env.ref("omnichannel_inbox.utm_source_phone"),
        )
        self.assertFalse(other.conversation_id.lead_id.campaign_id)
        # The same customer calling the tracked number again keeps their open lead's
        # origin.
        lead.campaign_id = False
        self.call("t3", "+74951112233")
        self.assertFalse(lead.campaign_id, "an existing lead is not re-attributed")
        # Conversion by number and campaign: the report reads leads grouped by them.
        lead.action_set_won()
        groups = self.env["crm.lead"].read_group(
            [("omnichannel_tracking_number_id", "!=", False)],
            ["__count"],
            ["omnichannel_tracking_number_id", "won_status"],
            lazy=False,
        )
        self.assertEqual(
            [
                (g["omnichannel_tracking_number_id"][0], g["won_status"], g["__count"])
                for g in groups
            ],
            [(number.id, "won", 1)],
        )

    def test_dynamic_pool_reservation_brings_the_session_utm_to_the_lead(self):
        first = self.Number.create(
            {
                "name": "+7 495 000-00-01",
                "channel_id": self.line.id,
                "website_channel_id": self.site.id,
            }
        )
        second = self.Number.create(
            {
                "name": "+7 495 000-00-02",
                "channel_id": self.line.id,
                "website_channel_id": self.site.id,
            }
        )
        visitor_a = self.reserve(
            utm_source="google", utm_medium="cpc", utm_campaign="chairs-autumn"
        )
        visitor_b = self.reserve(
            utm_source="yandex", utm_medium="cpc", utm_campaign="tables"
        )
        self.assertEqual(
            {visitor_a["number"], visitor_b["number"]},
            {first.name, second.name},
            "two visitors at once see two numbers",
        )
        # The same session asking again keeps its number.
        self.assertEqual(
            self.reserve(token=visitor_a["token"])["number"], visitor_a["number"]
        )
        call = self.call("d1", visitor_a["number"], answered=True)
        lead = call.conversation_id.lead_id
        self.assertEqual(
            (lead.source_id.name, lead.medium_id.name, lead.campaign_id.name),
            ("google", "cpc", "chairs-autumn"),
        )
        self.assertEqual(lead.omnichannel_tracking_number_id.name, visitor_a["number"])
        # A site without a pool shows no number.
        other_site = self._create_channel("website", name="Other site")
        response = self.url_open(
            f"/omnichannel/tracking/{other_site.sudo().webhook_key}",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.json(), {"number": ""})
        self.assertEqual(
            self.url_open("/omnichannel/tracking/nope", data=b"{}").status_code, 404
        )

    def test_a_call_after_the_reservation_expired_brings_no_session_utm(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.tracking_reservation_minutes", 15
        )
        number = self.Number.create(
            {
                "name": "+7 495 000-00-01",
                "channel_id": self.line.id,
                "website_channel_id": self.site.id,
            }
        )
        shown = self.reserve(utm_source="google", utm_campaign="chairs-autumn")
        reservation = number.reservation_ids
        self.assertAlmostEqual(
            reservation.expires,
            fields.Datetime.now() + timedelta(minutes=15),
            delta=timedelta(seconds=30),
        )
        reservation.expires = fields.Datetime.now() - timedelta(minutes=1)
        call = self.call("x1", shown["number"])
        lead = call.conversation_id.lead_id
        self.assertEqual(
            lead.omnichannel_tracking_number_id, number, "the number is still known"
        )
        self.assertFalse(
            lead.campaign_id,
            "the visitor's session is over: its campaign is not claimed",
        )
        self.assertEqual(
            lead.source_id, self.env.ref("omnichannel_inbox.utm_source_phone")
        )
        # An expired number goes to the next visitor, with their own UTM.
        self.assertEqual(self.reserve(utm_source="yandex")["number"], number.name)
        self.assertEqual(len(number.reservation_ids), 2)

    def test_rate_limit_applies_to_the_number_route(self):
        self.Number.create(
            {
                "name": "+7 495 000-00-01",
                "channel_id": self.line.id,
                "website_channel_id": self.site.id,
            }
        )
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.rate_limit_per_address", 2
        )
        self.reserve()
        self.reserve()
        response = self.url_open(
            f"/omnichannel/tracking/{self.site.sudo().webhook_key}",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 429)
        self.assertEqual(
            len(self.env["omnichannel.tracking.reservation"].sudo().search([])), 2
        )

    def test_zadarma_called_did_is_the_tracking_number(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.phone_replay_window_minutes", WIDE_REPLAY_WINDOW
        )
        zadarma, line = self._zadarma_line()
        campaign = self.utm._find_or_create_record("utm.campaign", "Radio")
        self.Number.create(
            {
                "name": "+7 495 777-66-55",
                "channel_id": line.id,
                "campaign_id": campaign.id,
            }
        )
        start = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        for event, extra in (
            ("NOTIFY_START", {}),
            ("NOTIFY_END", {"duration": "0", "disposition": "no answer"}),
        ):
            body, headers = zadarma.notification(
                event,
                pbx_call_id="z-1",
                caller_id="79035550102",
                called_did="74957776655",
                call_start=start,
                **extra,
            )
            self.assertEqual(
                self.post_webhook(line, body, headers=headers).status_code, 200
            )
        self.env.invalidate_all()
        lead = self.Call.search([("channel_id", "=", line.id)]).conversation_id.lead_id
        self.assertEqual(lead.campaign_id, campaign)
