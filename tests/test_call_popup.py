"""Screen-pop: when a call rings an extension, its employee's screen shows the
customer's history (one bus notification to that user's partner channel),
read with that employee's own rights; it closes when the call is answered
elsewhere or ends.  Driven by the generic PBX webhook, Asterisk through the
AMI bridge (fake AMI server) and Zadarma (signed NOTIFY_* posts)."""

import json
import threading
import time
from datetime import datetime, timedelta

import pytz
import requests

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME

from .fake_ami import inbound_call_script
from .test_calls import PBX_SECRET, CallsCase, load_bridge, pbx_headers

POPUP = "omnichannel_call/popup"
CLOSE = "omnichannel_call/popup_close"


class PopupCase(CallsCase):
    """Anna Seller (101) and Boris Seller (102) share the phone team; Ivan
    Petrov already wrote in the Sandbox chat and has an open lead."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_test_user(
            cls.env,
            "call_other",
            groups="sales_team.group_sale_salesman",
            name="Boris Seller",
            tz="Europe/Moscow",
        )
        cls.other.omnichannel_phone_extension = "102"
        cls.team.member_ids = [(4, cls.other.id)]
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "Ivan: 20 office desks",
                "type": "opportunity",
                "partner_id": cls.customer.id,
                "user_id": cls.seller.id,
                "team_id": cls.team.id,
            }
        )
        # Ivan's chat on another channel, tied to him (as a confirmed suggestion would).
        cls.sandbox = cls._create_channel(
            "sandbox", name="Website chat", team_id=cls.team.id
        )
        rows = (
            cls.env["omnichannel.inbound.event"]
            .sudo()
            ._journal(
                cls.sandbox,
                [
                    cls._sandbox_event(
                        cls, "ivan-chat", text="Do you deliver the desks on Saturday?"
                    )
                ],
            )
        )
        rows._process()
        conversation = (
            cls.env["omnichannel.conversation"]
            .sudo()
            .search([("channel_id", "=", cls.sandbox.id)])
        )
        conversation.identity_id.partner_id = cls.customer
        conversation.write(
            {
                "partner_id": cls.customer.id,
                "lead_id": cls.lead.id,
                "user_id": cls.seller.id,
            }
        )

    def popups(self, kind=POPUP):
        """(user, payload) of the screen-pop notifications sent so far."""
        self.env["bus.bus"].flush_model()
        rows = (
            self.env["bus.bus"]
            .sudo()
            .search([("message", "like", f'"{kind}"')], order="id")
        )
        result = []
        for row in rows:
            channel = json.loads(row.channel)
            message = json.loads(row.message)
            if message["type"] != kind:
                continue
            self.assertEqual(
                channel[1],
                "res.partner",
                "the popup goes to the partner channel of a user",
            )
            user = self.env["res.users"].search([("partner_id", "=", channel[2])])
            result.append((user, message["payload"]))
        return result


@tagged("post_install", "-at_install")
class TestCallPopupWebhook(PopupCase):
    def setUp(self):
        super().setUp()
        self.line = self._line(
            "phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET
        )

    def send(self, *events):
        body = json.dumps({"events": list(events)}).encode()
        started = time.monotonic()
        response = self.post_webhook(
            self.line, body, headers=pbx_headers(PBX_SECRET, body)
        )
        self.elapsed = time.monotonic() - started
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        return response

    def event(
        self, event_id, event, call_id="pbx-1", number="8 (912) 345-67-89", **extra
    ):
        when = datetime.now(pytz.utc) + timedelta(seconds=len(event_id))
        return dict(
            {
                "event_id": event_id,
                "call_id": call_id,
                "event": event,
                "direction": "in",
                "customer_number": number,
                "timestamp": when.isoformat(),
            },
            **extra,
        )

    def test_ringing_pops_history_to_that_user_only_and_closes_when_answered_elsewhere(
        self,
    ):
        self.send(self.event("r1", "ringing", extension="101"))
        self.assertLess(
            self.elapsed,
            1.0,
            "the popup is sent in the same request as the ringing event",
        )
        popups = self.popups()
        self.assertEqual(
            [user for user, _payload in popups],
            [self.seller],
            "one notification, to the user of extension 101 only (every tab of "
            "theirs listens to it)",
        )
        payload = popups[0][1]
        call = self.calls(self.line)
        self.assertEqual(payload["call_id"], call.id)
        self.assertEqual(payload["number"], "+7 912 345-67-89")
        self.assertEqual(
            payload["customer"], {"id": self.customer.id, "name": "Ivan Petrov"}
        )
        self.assertFalse(payload["new_caller"])
        self.assertEqual(payload["lead"]["id"], self.lead.id)
        self.assertEqual(
            payload["history"], {"model": "res.partner", "id": self.customer.id}
        )
        self.assertEqual(
            [(m["channel"], m["text"]) for m in payload["messages"]],
            [("Website chat", "Do you deliver the desks on Saturday?")],
            "the last message of each channel, the ringing call itself left out",
        )
        # The PBX retries the event: no second popup.
        self.send(self.event("r1", "ringing", extension="101"))
        self.assertEqual(len(self.popups()), 1)
        # It rings Boris too (a ring group): his popup; then Boris answers.
        self.send(self.event("r2", "ringing", extension="102"))
        self.assertEqual(
            [user for user, _payload in self.popups()], [self.seller, self.other]
        )
        self.assertFalse(self.popups(CLOSE))
        self.send(self.event("a1", "answered", extension="102"))
        closes = self.popups(CLOSE)
        self.assertEqual(
            [(user, payload["call_id"], payload["reason"]) for user, payload in closes],
            [(self.seller, call.id, "answered_elsewhere")],
            "Anna's popup closes; Boris, who talks, keeps his",
        )
        self.send(self.event("e1", "ended", extension="102", duration=42))
        closes = self.popups(CLOSE)
        self.assertEqual(
            [(user, payload["reason"]) for user, payload in closes],
            [(self.seller, "answered_elsewhere"), (self.other, "ended")],
        )
        self.assertFalse(self.calls(self.line).popup_user_ids)

    def test_missed_call_closes_the_popup(self):
        self.send(self.event("r1", "ringing", extension="101"))
        self.send(self.event("m1", "missed", hangup_by="customer"))
        self.assertEqual(
            [(user, payload["reason"]) for user, payload in self.popups(CLOSE)],
            [(self.seller, "ended")],
        )

    def test_late_ringing_and_outgoing_calls_pop_nothing(self):
        self.send(
            self.event("a1", "answered", extension="101"),
            self.event("r1", "ringing", extension="102"),
        )
        self.send(
            self.event(
                "o1", "ringing", call_id="pbx-out", direction="out", extension="101"
            )
        )
        self.send(self.event("x1", "ringing", call_id="pbx-3", extension="999"))
        self.assertFalse(
            self.popups(),
            "a ringing event after the answer, our own call, an unknown extension",
        )

    def test_unknown_caller_is_a_new_caller_and_gets_a_lead_from_the_popup(self):
        self.send(
            self.event(
                "r1",
                "ringing",
                call_id="pbx-new",
                number="+7 903 555-01-02",
                extension="101",
            )
        )
        ((user, payload),) = self.popups()
        self.assertEqual(user, self.seller)
        self.assertTrue(payload["new_caller"])
        self.assertFalse(payload["lead"])
        self.assertEqual(payload["messages"], [])
        call = self.Call.browse(payload["call_id"])
        action = call.with_user(self.seller).action_popup_create_lead()
        lead = self.env["crm.lead"].browse(action["res_id"])
        self.assertEqual(
            (lead.user_id, lead.create_uid, lead.phone),
            (self.seller, self.seller, "+7 903 555-01-02"),
        )
        self.assertEqual((call.lead_id, call.conversation_id.lead_id), (lead, lead))
        # Someone who cannot read the call cannot create a lead through it.
        outsider = new_test_user(
            self.env, "call_outsider", groups="sales_team.group_sale_salesman"
        )
        with self.assertRaises(AccessError):
            call.with_user(outsider).action_popup_create_lead()

    def test_customer_the_user_may_not_read_shows_as_the_number_only(self):
        # Sergey called once (a missed call made him a customer and a lead),
        # then his records were moved to another branch the seller does not work for.
        self.send(
            self.event("s1", "ringing", call_id="pbx-first", number="8 916 000-11-22"),
            self.event("s2", "missed", call_id="pbx-first", number="8 916 000-11-22"),
        )
        first = self.Call.search([("provider_call_id", "=", "pbx-first")])
        secret = first.partner_id
        self.assertTrue(secret and first.conversation_id.lead_id)
        other_company = self.env["res.company"].create({"name": "Other branch"})
        secret.write({"name": "Sergey Confidential", "company_id": other_company.id})
        first.conversation_id.lead_id.write(
            {"name": "Confidential deal", "company_id": other_company.id}
        )
        self.assertFalse(secret.with_user(self.seller).has_access("read"))
        self.send(
            self.event(
                "r1",
                "ringing",
                call_id="pbx-secret",
                number="8 916 000-11-22",
                extension="101",
            )
        )
        ((user, payload),) = self.popups()
        call = self.Call.browse(payload["call_id"])
        self.assertEqual(
            call.partner_id, secret, "the call is tied to the customer (sudo side)"
        )
        self.assertEqual(user, self.seller)
        self.assertEqual(payload["number"], "+7 916 000-11-22")
        self.assertEqual(
            (
                payload["customer"],
                payload["lead"],
                payload["history"],
                payload["messages"],
            ),
            (False, False, False, []),
            "neither the name, nor the lead, nor any message",
        )
        self.assertNotIn("Sergey", json.dumps(payload))
        self.assertNotIn("Confidential", json.dumps(payload))


@tagged("post_install", "-at_install")
class TestCallPopupProviders(PopupCase):
    def test_asterisk_through_the_ami_bridge(self):
        from .fake_ami import FakeAmiServer

        ami = FakeAmiServer(username="odoo", secret="ami-secret").start()
        self.addCleanup(ami.stop)
        line = self._line(
            "asterisk",
            name="Asterisk office",
            api_base_url=ami.address,
            account_ref="odoo",
            token="ami-secret",
            webhook_secret="bridge-secret",
        )
        bridge_module = load_bridge()
        script = inbound_call_script(
            "1718000000.10",
            "89123456789",
            "74951234567",
            "102",
            time.time() - 5,
            talk_seconds=3,
        )
        ami.script = script
        url = f"{self.base_url()}/omnichannel/webhook/{line.webhook_key}"
        bridge = bridge_module.Bridge(
            ami.address, "odoo", "ami-secret", url, "bridge-secret", allow_http=True
        )
        relevant = [e for e in script if bridge_module.ami.is_call_event(e)]
        with self.allow_requests(all_requests=True):
            bridge.run(max_events=len(relevant), stop_after=30)
        self.env.invalidate_all()
        ((user, payload),) = self.popups()
        self.assertEqual(
            user, self.other, "DialBegin to 102 pops the screen of its employee"
        )
        self.assertEqual(payload["customer"]["name"], "Ivan Petrov")
        self.assertEqual(
            [(u, p["reason"]) for u, p in self.popups(CLOSE)],
            [(self.other, "ended")],
            "answered by Boris himself: it stays open until the hang-up",
        )

    def test_zadarma_notify_start_and_internal(self):
        zadarma, line = self._zadarma_line()
        call = {
            "pbx_call_id": "in-1",
            "caller_id": "89123456789",
            "called_did": "74951234567",
            "call_start": datetime.now(pytz.timezone("Europe/Moscow")).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
        }

        def notify(event, **fields):
            body, headers = zadarma.notification(event, **fields)
            self.assertEqual(
                self.post_webhook(line, body, headers=headers).status_code, 200
            )
            self.env.invalidate_all()

        notify("NOTIFY_START", **call)
        self.assertFalse(self.popups(), "NOTIFY_START rings no extension yet")
        notify("NOTIFY_INTERNAL", **dict(call, internal="101"))
        notify("NOTIFY_INTERNAL", **dict(call, internal="102"))
        self.assertEqual([u for u, _p in self.popups()], [self.seller, self.other])
        notify("NOTIFY_ANSWER", **dict(call, destination="102", internal="102"))
        self.assertEqual(
            [(u, p["reason"]) for u, p in self.popups(CLOSE)],
            [(self.seller, "answered_elsewhere")],
        )
        notify(
            "NOTIFY_END",
            **dict(
                call,
                internal="102",
                last_internal="102",
                duration="30",
                disposition="answered",
                status_code="16",
            ),
        )
        self.assertEqual(
            [(u, p["reason"]) for u, p in self.popups(CLOSE)],
            [(self.seller, "answered_elsewhere"), (self.other, "ended")],
        )


@tagged("post_install", "-at_install")
class TestCallPopupTour(PopupCase):
    """The browser: a fake PBX posts a ringing event while the salesperson's
    Odoo is open; the popup shows Ivan's history and opens his lead."""

    def test_popup_tour(self):
        line = self._line("phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET)
        admin = self.env.ref("base.user_admin")
        admin.omnichannel_phone_extension = "100"
        self.lead.priority = "0"
        url = f"{self.base_url()}/omnichannel/webhook/{line.webhook_key}"
        lead_id = self.lead.id
        answers = []
        before_tour = self.http_request_key

        def post(event_id, event, extension):
            # A separate HTTP client, as a PBX is, carrying the key of the
            # requests the running tour allows (url_open would try to take
            # the test lock from this thread).
            body = json.dumps(
                {
                    "event_id": event_id,
                    "call_id": "pbx-tour",
                    "event": event,
                    "direction": "in",
                    "customer_number": "8 (912) 345-67-89",
                    "extension": extension,
                    "timestamp": datetime.now(pytz.utc).isoformat(),
                }
            ).encode()
            headers = dict(
                pbx_headers(PBX_SECRET, body), **{"Content-Type": "application/json"}
            )
            response = requests.post(
                url,
                data=body,
                headers=headers,
                timeout=30,
                cookies={TEST_CURSOR_COOKIE_NAME: self.http_request_key},
            )
            answers.append((event, response.status_code))

        def lead_starred():
            with self.registry.cursor() as cr:
                cr.execute("SELECT priority FROM crm_lead WHERE id = %s", [lead_id])
                return cr.fetchone()[0] != "0"

        def pbx():
            # The PBX rings extension 100 while the tour waits for the popup:
            # once the tour's browser may send requests, and a moment later (a
            # tab whose bus connects after the ring still gets the
            # notifications of the last seconds).
            deadline = time.monotonic() + 120
            while self.http_request_key == before_tour and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(3)
            post("tour-r1", "ringing", "100")
            # Once the tour has starred the lead it opened from the popup,
            # Boris (102) picks the call up: the popup closes by itself.
            while not lead_starred() and time.monotonic() < deadline:
                time.sleep(0.5)
            post("tour-a1", "answered", "102")

        thread = threading.Thread(target=pbx)
        thread.start()
        try:
            self.start_tour("/odoo/crm", "omnichannel_call_popup_tour", login="admin")
        finally:
            thread.join()
        self.assertEqual(answers, [("ringing", 200), ("answered", 200)])
        call = self.Call.search([("provider_call_id", "=", "pbx-tour")])
        self.assertEqual((call.state, call.user_id), ("answered", self.other))
        self.assertEqual(
            [(user, payload["reason"]) for user, payload in self.popups(CLOSE)],
            [(admin, "answered_elsewhere")],
        )
        self.assertFalse(call.popup_user_ids)
