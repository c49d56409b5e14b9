"""Website call-back orders through the real flow: the public JSON route of
the widget, the line's click-to-call path against a fake PBX originate
endpoint (and Zadarma's callback API), the PBX's webhook events, the retry
cron, business hours."""

import json
import time
from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import FakeProviderServer
from .fake_ami import FakeAmiServer, originated_call_script
from .test_calls import PBX_SECRET, CallsCase, load_bridge, pbx_headers


class CallbackCase(CallsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.always = cls._business_calendar("Always open", range(7), 0, 24)
        cls.site = cls._create_channel("website", name="Our site")
        cls.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.rate_limit_per_address", 0
        )
        cls.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.rate_limit_per_channel", 0
        )

    def setUp(self):
        super().setUp()
        self.pbx = FakeProviderServer().start()
        self.addCleanup(self.pbx.stop)
        self.answers = []
        self.pbx.route(
            "POST",
            "/originate",
            lambda request: (
                self.answers.pop(0)
                if self.answers
                else (200, {}, {"call_id": f"cb-{len(self.pbx.requests)}"})
            ),
        )
        self.line = self._line(
            "phone_webhook",
            name="Office PBX",
            webhook_secret=PBX_SECRET,
            api_base_url=self.pbx.url + "/originate",
            business_calendar_id=self.always.id,
        )
        self.Request = self.env["omnichannel.callback.request"].sudo()

    def order(self, phone, channel=None, **extra):
        body = json.dumps(dict({"phone": phone, "name": "Visitor"}, **extra)).encode()
        response = self.url_open(
            f"/omnichannel/callback/{(channel or self.site).sudo().webhook_key}",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        self.env.invalidate_all()
        return response

    def pbx_event(self, call_id, event, **extra):
        body = json.dumps(
            {
                "events": [
                    dict(
                        {
                            "event_id": f"{call_id}-{event}",
                            "call_id": call_id,
                            "event": event,
                            "timestamp": time.time(),
                        },
                        **extra,
                    )
                ]
            }
        ).encode()
        response = self.post_webhook(
            self.line, body, headers=pbx_headers(PBX_SECRET, body)
        )
        self.env.invalidate_all()
        return response

    def originates(self):
        return [
            {k: r.json()[k] for k in ("extension", "number")}
            for r in self.pbx.requests
            if r.path == "/originate"
        ]

    def history(self, lead):
        return "\n".join(lead.message_ids.mapped("body"))

    def run_cron(self, later=timedelta()):
        """Run the cron as the scheduler would once its trigger is due."""
        self.Request.search([("next_attempt", "!=", False)]).write(
            {"next_attempt": fields.Datetime.now() - later}
        )
        self.Request._cron_process()
        self.env.invalidate_all()


@tagged("post_install", "-at_install")
class TestCallbackOrders(CallbackCase):
    def test_in_hours_the_operator_is_called_first_then_the_visitor(self):
        response = self.order("8 (903) 555-01-02")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["state"], "calling")
        self.assertIn("calling you now", response.json()["message"])
        self.assertEqual(
            self.originates(),
            [{"extension": "101", "number": "+79035550102"}],
            "the operator's extension first, then the visitor's number",
        )
        request = self.Request.search([])
        self.assertEqual(
            (request.state, request.attempts, request.user_id, request.number),
            ("calling", 1, self.seller, "+79035550102"),
        )
        call = request.call_id
        self.assertEqual(
            (
                call.provider_call_id,
                call.direction,
                call.user_id,
                call.callback_request_id,
            ),
            ("cb-1", "out", self.seller, request),
        )
        log = (
            self.env["omnichannel.call.origination"]
            .sudo()
            .search([("call_id", "=", call.id)])
        )
        self.assertEqual(
            (log.source, log.result, log.user_id, log.extension),
            ("callback", "placed", self.seller, "101"),
        )
        lead = request.lead_id
        self.assertTrue(lead)
        self.assertEqual(call.conversation_id.lead_id, lead)
        self.assertIn(
            "Attempt 1: Anna Seller (101) is called first", self.history(lead)
        )
        # The PBX reports the visitor answered: connected, with the time it took.
        self.pbx_event("cb-1", "answered", extension="101")
        self.assertEqual(request.state, "connected")
        self.assertTrue(request.connected_date)
        self.assertGreaterEqual(request.time_to_callback, 0)
        self.assertIn("connected with", self.history(lead))
        # Reports read the stored figures.
        groups = self.Request.read_group(
            [], ["ordered_count:sum", "connected_count:sum", "failed_count:sum"], []
        )
        self.assertEqual(
            (
                groups[0]["ordered_count"],
                groups[0]["connected_count"],
                groups[0]["failed_count"],
            ),
            (1, 1, 0),
        )

    def test_invalid_number_is_refused_and_nothing_is_stored_or_called(self):
        for bad in ("12", "call me", "+7 903"):
            response = self.order(bad)
            self.assertEqual(response.status_code, 400, bad)
            self.assertIn("not a valid phone number", response.json()["message"])
        self.assertEqual(self.order("x" * 200).status_code, 400)
        response = self.url_open(
            f"/omnichannel/callback/{self.site.sudo().webhook_key}",
            data=b"{broken",
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            self.order("+79035550102", channel=self.line).status_code,
            404,
            "not a website channel",
        )
        self.assertFalse(self.Request.search([]))
        self.assertFalse(self.originates())

    def test_queued_when_nobody_is_free_then_called_when_the_operator_is_free(self):
        self.seller.omnichannel_available = False
        response = self.order("+7 903 555 01 02")
        self.assertEqual(response.json()["state"], "queued")
        self.assertIn("shortly", response.json()["message"])
        self.assertNotIn("calling", response.json()["message"])
        request = self.Request.search([])
        self.assertFalse(self.originates())
        cron = self.env.ref("omnichannel_inbox.ir_cron_callback_requests")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
            "the cron is woken up",
        )
        self.run_cron()
        self.assertEqual(request.state, "queued", "still nobody free")
        self.assertFalse(self.originates())
        self.seller.omnichannel_available = True
        self.run_cron()
        self.assertEqual(request.state, "calling")
        self.assertEqual(
            self.originates(), [{"extension": "101", "number": "+79035550102"}]
        )

    def test_unanswered_calls_are_retried_per_policy_then_failed(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.callback_tries", 2
        )
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.callback_retry_minutes", 7
        )
        self.order("+79035550102")
        request = self.Request.search([])
        before = fields.Datetime.now()
        self.pbx_event(
            "cb-1",
            "missed",
            direction="out",
            customer_number="+79035550102",
            extension="101",
        )
        self.assertEqual((request.state, request.attempts), ("queued", 1))
        self.assertAlmostEqual(
            request.next_attempt,
            before + timedelta(minutes=7),
            delta=timedelta(seconds=30),
        )
        self.Request._cron_process()
        self.assertEqual(len(self.originates()), 1, "not before the 7 minutes")
        self.run_cron()
        self.assertEqual(
            (request.state, request.attempts, len(self.originates())), ("calling", 2, 2)
        )
        self.pbx_event(
            "cb-2",
            "missed",
            direction="out",
            customer_number="+79035550102",
            extension="101",
        )
        self.assertEqual(
            (request.state, request.attempts, request.next_attempt),
            ("failed", 2, False),
        )
        self.run_cron()
        self.assertEqual(len(self.originates()), 2, "no third try")
        history = self.history(request.lead_id)
        self.assertIn("Attempt 1: not answered", history)
        self.assertIn("Attempt 2: not answered", history)
        self.assertIn("failed after 2 attempts", history)

    def test_pbx_down_is_a_visible_failure_retried_and_the_visitor_is_not_told_calling(
        self,
    ):
        self.answers.append((503, {}, {"error": "PBX overloaded"}))
        response = self.order("+79035550102")
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("calling", response.json()["message"])
        self.assertIn("shortly", response.json()["message"])
        request = self.Request.search([])
        self.assertEqual((request.state, request.attempts), ("queued", 1))
        self.assertIn("PBX overloaded", request.last_error, "the PBX's reason is shown")
        self.assertFalse(request.call_id, "no call invented")
        log = (
            self.env["omnichannel.call.origination"]
            .sudo()
            .search([("source", "=", "callback")])
        )
        self.assertEqual(log.result, "failed")
        self.assertIn("did not place the call", self.history(request.lead_id))
        # A PBX that cannot be reached at all: same.
        self.line.api_base_url = "http://127.0.0.1:9/originate"
        self.run_cron()
        self.assertEqual((request.state, request.attempts), ("queued", 2))
        self.line.api_base_url = self.pbx.url + "/originate"
        self.run_cron()
        self.assertEqual((request.state, request.attempts), ("calling", 3))

    def test_outside_hours_scheduled_for_the_next_opening_and_told_when(self):
        now = datetime.utcnow()
        opening_day = (now + timedelta(days=2)).date()
        calendar = self._business_calendar(
            "One day a week", [opening_day.weekday()], 9, 18
        )
        self.line.business_calendar_id = calendar
        self._load_russian()
        response = self.order("+79035550102", lang="ru")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["state"], "scheduled")
        self.assertIn("09:00", response.json()["message"])
        self.assertIn(
            "перезвоним вам",
            response.json()["message"],
            "told in the visitor's language",
        )
        request = self.Request.search([])
        self.assertEqual(
            request.next_attempt,
            datetime(opening_day.year, opening_day.month, opening_day.day, 9),
        )
        self.assertEqual(request.lang, "ru_RU")
        self.assertFalse(self.originates())
        self.assertIn("scheduled", self.history(request.lead_id))
        # The cron before the opening leaves it; at the opening it calls.
        self.Request._cron_process()
        self.assertFalse(self.originates())
        self.line.business_calendar_id = self.always
        self.run_cron()
        self.assertEqual(request.state, "calling")

    def test_zadarma_line_uses_its_callback_api(self):
        self.line.active = False
        zadarma, _ = self._zadarma_line(business_calendar_id=self.always.id)
        response = self.order("+79035550102")
        self.assertEqual(response.json()["state"], "calling", response.json())
        callback = zadarma.calls("/v1/request/callback/")[-1]
        self.assertEqual(
            (callback.query["from"], callback.query["to"]), ("101", "79035550102")
        )
        self.assertEqual(
            self.Request.search([]).call_id.channel_id.channel_type, "zadarma"
        )

    def test_asterisk_line_busy_operator_then_originated_and_connected_over_ami(self):
        ami = FakeAmiServer(username="odoo", secret="ami-secret").start()
        self.addCleanup(ami.stop)
        self.line.active = False
        line = self._line(
            "asterisk",
            name="Asterisk office",
            api_base_url=ami.address,
            account_ref="odoo",
            token="ami-secret",
            webhook_secret="bridge-secret",
            business_calendar_id=self.always.id,
        )
        ami.originate_outcome = "busy"
        response = self.order("8 903 555-01-02")
        self.assertNotIn(
            "calling", response.json()["message"], "Asterisk did not place the call"
        )
        request = self.Request.search([])
        self.assertEqual((request.state, request.attempts), ("queued", 1))
        self.assertIn("busy", request.last_error)
        ami.originate_outcome = "answered"
        self.run_cron()
        originate = ami.find("Originate")[-1]
        self.assertEqual(
            (originate["Channel"], originate["Exten"]),
            ("PJSIP/101", "79035550102"),
            "the operator's phone first, then the visitor",
        )
        self.assertEqual(
            (request.state, request.attempts, request.call_id.provider_call_id),
            ("calling", 2, originate["ChannelId"]),
        )
        # Asterisk reports the call through the bridge: the visitor answered.
        channel_id, start = originate["ChannelId"], time.time() - 30
        script = originated_call_script(
            channel_id, "79035550102", start, leg=50, dial_after=3, answer_after=9
        )
        ami.script = script
        bridge_module = load_bridge()
        url = f"{self.base_url()}/omnichannel/webhook/{line.webhook_key}"
        bridge = bridge_module.Bridge(
            ami.address, "odoo", "ami-secret", url, "bridge-secret", allow_http=True
        )
        with self.allow_requests(all_requests=True):
            bridge.run(
                max_events=len(
                    [e for e in script if bridge_module.ami.is_call_event(e)]
                ),
                stop_after=30,
            )
        self.env.invalidate_all()
        self.assertEqual(request.state, "connected")
        self.assertEqual(len(request.call_ids), 1)


@tagged("post_install", "-at_install")
class TestCallbackLimits(CallbackCase):
    def test_public_rate_limit_applies_and_nothing_is_stored_over_it(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.rate_limit_per_address", 2
        )
        self.assertEqual(self.order("+79035550102").status_code, 200)
        self.assertEqual(self.order("+79035550103").status_code, 200)
        response = self.order("+79035550104")
        self.assertEqual(response.status_code, 429)
        self.assertTrue(response.headers.get("Retry-After"))
        self.assertEqual(len(self.Request.search([])), 2)
        self.assertEqual(
            len(self.originates()), 1, "the only operator is on the first call"
        )

    def test_salesperson_reads_only_callbacks_of_their_leads(self):
        other = new_test_user(
            self.env, "cb_other", groups="sales_team.group_sale_salesman", name="Other"
        )
        self.order("+79035550102")
        request = self.Request.search([])
        request.lead_id.user_id = self.seller
        self.assertEqual(
            self.env["omnichannel.callback.request"].with_user(self.seller).search([]),
            request,
        )
        self.assertFalse(
            self.env["omnichannel.callback.request"].with_user(other).search([])
        )


@tagged("post_install", "-at_install")
class TestCallbackOnTheSite(CallbackCase):
    """The contact form's "Call me back" box and the widget's offer."""

    def journal_rows(self):
        return (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("channel_id", "=", self.site.id)])
        )

    def test_contact_form_call_me_back(self):
        url = f"/omnichannel/contact/{self.site.sudo().webhook_key}"
        page = self.url_open(url)
        self.assertIn(
            'name="callback"', page.text, "offered: a phone line can place calls"
        )
        form = {
            "submission_id": "cb-form-1",
            "name": "Elena",
            "email": "",
            "phone": "12345",
            "message": "Call me",
            "callback": "1",
        }
        refused = self.url_open(url, data=form)
        self.assertEqual(refused.status_code, 400)
        self.assertIn("not a valid number", refused.text)
        self.assertFalse(self.journal_rows(), "nothing stored")
        self.assertFalse(self.Request.search([]))
        self.assertFalse(self.originates())
        sent = self.url_open(url, data=dict(form, phone="+7 903 555-01-02"))
        self.assertEqual(sent.status_code, 200)
        self.assertIn("calling you now", sent.text)
        self.assertEqual(len(self.journal_rows()), 1, "the message is kept as any form")
        request = self.Request.search([])
        self.assertEqual(
            (request.state, request.number, request.source_channel_id),
            ("calling", "+79035550102", self.site),
        )
        self.assertEqual(
            self.originates(), [{"extension": "101", "number": "+79035550102"}]
        )

    def test_widget_offers_call_me_back_only_with_a_line_that_can_call(self):
        data = self.url_open(f"/omnichannel/widget/{self.env.company.id}").json()
        self.assertTrue(
            data["callback"]["url"].endswith(
                f"/omnichannel/callback/{self.site.sudo().webhook_key}"
            )
        )
        self.line.api_base_url = False
        self.env.registry.clear_cache()
        data = self.url_open(f"/omnichannel/widget/{self.env.company.id}").json()
        self.assertNotIn("callback", data)
        self.assertNotIn(
            'name="callback"',
            self.url_open(f"/omnichannel/contact/{self.site.sudo().webhook_key}").text,
        )
