"""The phone lines as an attacker tries them: a customer (portal user) or an
employee making the company's PBX dial a number of their choosing, a forged
event making the server download from its own network, signed notifications
posted again, and the bridge and AMI connection in clear text.

Each test asserts the refusal and that nothing reached the fake PBX or
provider (their request logs stay empty), and what was logged."""

import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import shutil
import ssl
import tempfile
import time
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException

from odoo.addons.omnichannel_inbox import connectors
from odoo.addons.omnichannel_inbox.connectors import safe_http

from .common import FakeProviderServer
from .fake_ami import FakeAmiServer, inbound_call_script
from .test_calls import MP3, MSK, PBX_SECRET, CallsCase, load_bridge, pbx_headers

DIAL_STRING = "SIP/trunk/0900123456"


class ClickToCallCase(CallsCase):
    """A generic PBX line whose click-to-call address is a fake PBX counting
    the originate requests it receives."""

    def setUp(self):
        super().setUp()
        self.pbx = FakeProviderServer().start()
        self.addCleanup(self.pbx.stop)
        self.pbx.route(
            "POST",
            "/originate",
            lambda request: (
                200,
                {},
                {"call_id": f"pbx-{len(self.pbx.requests)}"},
            ),
        )
        self.line = self._line(
            "phone_webhook",
            name="Office PBX",
            webhook_secret=PBX_SECRET,
            api_base_url=self.pbx.url + "/originate",
        )
        self.Log = self.env["omnichannel.call.origination"].sudo()

    def originates(self):
        return [r for r in self.pbx.requests if r.path == "/originate"]

    def log(self, user):
        return self.Log.search([("user_id", "=", user.id)], order="id")

    def set_extension_as_legacy_data(self, user, extension):
        """An extension stored before extensions were checked (or written past
        the ORM): what is stored must still be checked when a call is placed."""
        self.env.cr.execute(
            "UPDATE res_users SET omnichannel_phone_extension = %s WHERE id = %s",
            [extension, user.id],
        )
        self.env.invalidate_all()


@tagged("post_install", "-at_install")
class TestClickToCallAbuse(ClickToCallCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(
            cls.env,
            "call_portal",
            groups="base.group_portal",
            name="Mallory Customer",
            password="call_portal_pw1",
        )
        cls.portal.partner_id.phone = "+49 900 1234567"

    def test_portal_user_cannot_set_an_extension_nor_call_through_the_orm(self):
        with self.assertRaises(AccessError):
            self.portal.with_user(self.portal).write(
                {"omnichannel_phone_extension": DIAL_STRING}
            )
        with self.assertRaises(
            ValidationError,
            msg="an administrator cannot give a customer an extension either",
        ):
            self.portal.write({"omnichannel_phone_extension": "555"})
        # Even with an extension stored anyhow, a customer places no call,
        # through whichever line (the Zadarma line is the conversation's own).
        zadarma, zd_line = self._zadarma_line()
        identity = (
            self.env["omnichannel.identity"]
            .sudo()
            .create(
                {
                    "channel_id": zd_line.id,
                    "provider_user_id": "+4990012345670",
                    "name": "Mallory",
                    "partner_id": self.portal.partner_id.id,
                }
            )
        )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            zd_line, identity
        )
        self.set_extension_as_legacy_data(self.portal, DIAL_STRING)
        result = (
            self.env["omnichannel.call"]
            .with_user(self.portal)
            .panel_call("omnichannel.conversation", conversation.id)
        )
        self.assertFalse(result["ok"])
        self.assertFalse(
            zadarma.calls("/v1/request/callback/"), "nothing reached Zadarma"
        )
        Call = self.env["omnichannel.call"].with_user(self.portal)
        result = Call.panel_call("res.partner", self.portal.partner_id.id)
        self.assertFalse(result["ok"])
        self.assertIn("Only employees", result["message"])
        self.assertFalse(Call._can_click_to_call(), "no phone button for a customer")
        action = self.portal.partner_id.with_user(self.portal).action_omnichannel_call()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertFalse(self.originates(), "nothing reached the PBX")
        self.assertFalse(self.calls(self.line))
        log = self.log(self.portal)
        self.assertEqual(
            log.mapped("result"), ["refused"] * 3, "each attempt is logged"
        )
        self.assertEqual(log[1].record_ref, f"res.partner,{self.portal.partner_id.id}")

    def test_portal_user_over_json_rpc(self):
        self.authenticate("call_portal", "call_portal_pw1")

        def call_kw(model, method, args, kwargs=None):
            return self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {
                    "model": model,
                    "method": method,
                    "args": args,
                    "kwargs": kwargs or {},
                },
            )

        with self.assertRaises(
            JsonRpcException, msg="the attacker wrote a dial string as their extension"
        ):
            call_kw(
                "res.users",
                "write",
                [
                    [self.portal.id],
                    {
                        "omnichannel_phone_extension": DIAL_STRING,
                        "phone": "+49 900 1234567",
                    },
                ],
            )
        self.env.invalidate_all()
        self.assertFalse(self.portal.omnichannel_phone_extension)
        result = call_kw(
            "omnichannel.call", "panel_call", ["res.partner", self.portal.partner_id.id]
        )
        self.assertFalse(result["ok"])
        self.assertIn("Only employees", result["message"])
        with self.assertRaises(JsonRpcException):
            call_kw(
                "omnichannel.call.origination",
                "search_read",
                [[]],
                {"fields": ["number"]},
            )
        self.assertFalse(self.originates(), "nothing reached the PBX")
        self.assertFalse(self.calls(self.line))
        self.assertEqual(self.log(self.portal).mapped("result"), ["refused"])

    def test_employee_cannot_dial_through_their_extension(self):
        with self.assertRaises(AccessError, msg="extensions are set by administrators"):
            self.seller.with_user(self.seller).write(
                {"omnichannel_phone_extension": DIAL_STRING}
            )
        admin = self.env.ref("base.user_admin")
        with self.assertRaises(ValidationError):
            self.seller.with_user(admin).write(
                {"omnichannel_phone_extension": DIAL_STRING}
            )
        self.env.invalidate_all()
        self.assertEqual(self.seller.omnichannel_phone_extension, "101")
        # A dial string stored before the check is refused when it would be dialled.
        self.set_extension_as_legacy_data(self.seller, DIAL_STRING)
        lead = self._seller_lead()
        result = (
            self.env["omnichannel.call"]
            .with_user(self.seller)
            .panel_call("crm.lead", lead.id)
        )
        self.assertFalse(result["ok"])
        self.assertIn("not valid", result["message"])
        self.assertFalse(self.originates(), "the dial string never reached the PBX")
        self.assertEqual(self.log(self.seller).mapped("result"), ["refused"])
        self.assertEqual(
            self.log(self.seller).extension, DIAL_STRING, "the log shows what was tried"
        )

    def test_the_number_comes_from_a_record_the_user_may_read_and_is_valid(self):
        # A lead of another salesperson: the record rules hide it from Anna.
        other = self.env["crm.lead"].create(
            {
                "name": "Not yours",
                "partner_id": self.customer.id,
                "phone": "+7 912 345 6789",
                "user_id": self.leader.id,
            }
        )
        Call = self.env["omnichannel.call"].with_user(self.seller)
        result = Call.panel_call("crm.lead", other.id)
        self.assertFalse(result["ok"])
        self.assertIn("cannot read", result["message"])
        # A number that is no phone number (a short code, a service prefix).
        customer = self.env["res.partner"].create(
            {"name": "Odd number", "phone": "0900"}
        )
        result = Call.panel_call("res.partner", customer.id)
        self.assertFalse(result["ok"])
        self.assertIn("not a valid phone number", result["message"])
        self.assertFalse(self.originates())
        self.assertEqual(self.log(self.seller).mapped("result"), ["refused", "refused"])
        # The customer's own valid number goes through, in E.164.
        result = Call.panel_call("res.partner", self.customer.id)
        self.assertTrue(result["ok"], result["message"])
        self.assertEqual(self.originates()[-1].json()["number"], "+79123456789")
        placed = self.log(self.seller)[-1]
        self.assertEqual(
            (placed.result, placed.number, placed.extension, placed.channel_id),
            ("placed", "+79123456789", "101", self.line),
        )
        self.assertEqual(placed.call_id, self.calls(self.line))

    def test_hourly_limit_per_user(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.click_to_call_per_hour", "2"
        )
        Call = self.env["omnichannel.call"].with_user(self.seller)
        self.assertTrue(Call.panel_call("res.partner", self.customer.id)["ok"])
        self.assertTrue(Call.panel_call("res.partner", self.customer.id)["ok"])
        result = Call.panel_call("res.partner", self.customer.id)
        self.assertFalse(result["ok"])
        self.assertIn("limit set by your administrator is 2 an hour", result["message"])
        self.assertEqual(
            len(self.originates()), 2, "the third request never reached the PBX"
        )
        self.assertEqual(
            self.log(self.seller).mapped("result"), ["placed", "placed", "refused"]
        )
        # An hour later the user may call again; other users were never limited.
        self.log(self.seller).filtered(lambda r: r.result == "placed").write(
            {"date": fields.Datetime.now() - timedelta(minutes=61)}
        )
        self.assertTrue(Call.panel_call("res.partner", self.customer.id)["ok"])
        self.assertEqual(len(self.originates()), 3)

    def test_the_log_is_for_managers(self):
        self.env["omnichannel.call"].with_user(self.seller).panel_call(
            "res.partner", self.customer.id
        )
        with self.assertRaises(AccessError):
            self.env["omnichannel.call.origination"].with_user(self.seller).search([])
        manager = new_test_user(
            self.env,
            "call_manager",
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        rows = self.env["omnichannel.call.origination"].with_user(manager).search([])
        self.assertEqual(rows.mapped("user_id"), self.seller)
        with self.assertRaises(AccessError, msg="nobody edits the log"):
            rows.with_user(manager).write({"result": "refused"})
        menu = self.env.ref("omnichannel_inbox.omnichannel_menu_call_origination")
        self.assertEqual(
            menu.parent_id, self.env.ref("omnichannel_inbox.omnichannel_menu_report")
        )


@tagged("post_install", "-at_install")
class TestPhoneExtensions(ClickToCallCase):
    def test_extensions_are_unique_per_company(self):
        copier = new_test_user(
            self.env,
            "call_copier",
            groups="sales_team.group_sale_salesman",
            name="Copy Cat",
        )
        with self.assertRaises(ValidationError):
            copier.omnichannel_phone_extension = "101"
        other_company = self.env["res.company"].create({"name": "Other shop"})
        elsewhere = new_test_user(
            self.env,
            "call_elsewhere",
            groups="sales_team.group_sale_salesman",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        elsewhere.omnichannel_phone_extension = "101"
        self.assertEqual(
            elsewhere.omnichannel_phone_extension,
            "101",
            "another company has its own 101",
        )
        for wrong in (
            "10 1",
            "101#",
            "PJSIP/101",
            "1" * 11,
            "101\r\nAction: Originate",
        ):
            with self.assertRaises(ValidationError, msg=wrong):
                copier.omnichannel_phone_extension = wrong
        # With a prefix configured, "123456-101" is an extension too.
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.phone_extension_prefix", "123456-"
        )
        copier.omnichannel_phone_extension = "123456-102"
        self.assertEqual(copier.omnichannel_phone_extension, "123456-102")

    def test_calls_are_not_handed_to_whoever_copied_an_extension(self):
        copier = new_test_user(
            self.env,
            "call_copier",
            groups="sales_team.group_sale_salesman",
            name="Copy Cat",
        )
        self.set_extension_as_legacy_data(copier, "101")
        when = time.time() - 60
        body = json.dumps(
            {
                "events": [
                    {
                        "event_id": "c1",
                        "call_id": "dup-1",
                        "event": "answered",
                        "direction": "in",
                        "customer_number": "+7 912 345 6789",
                        "extension": "101",
                        "timestamp": when,
                    },
                    {
                        "event_id": "c2",
                        "call_id": "dup-1",
                        "event": "ended",
                        "duration": 30,
                        "timestamp": when + 30,
                    },
                ]
            }
        ).encode()
        self.assertEqual(
            self.post_webhook(
                self.line, body, headers=pbx_headers(PBX_SECRET, body)
            ).status_code,
            200,
        )
        self.env.invalidate_all()
        call = self.calls(self.line)
        self.assertEqual(call.extension, "101")
        self.assertFalse(
            call.user_id,
            "two owners of one extension: the call is nobody's rather than the "
            "copier's",
        )
        self.assertNotEqual(call.conversation_id.user_id, copier)

    def test_omnichannel_administrators_assign_extensions_from_the_list(self):
        ocadmin = new_test_user(
            self.env, "call_ocadmin", groups="omnichannel_inbox.group_omnichannel_admin"
        )
        self.assertFalse(ocadmin.has_group("base.group_erp_manager"))
        newcomer = new_test_user(
            self.env, "call_newcomer", groups="sales_team.group_sale_salesman"
        )
        newcomer.with_user(ocadmin).write({"omnichannel_phone_extension": "102"})
        self.assertEqual(newcomer.omnichannel_phone_extension, "102")
        with self.assertRaises(
            AccessError, msg="only the extension, not the rest of the user"
        ):
            newcomer.with_user(ocadmin).write(
                {"omnichannel_phone_extension": "103", "login": "hijacked"}
            )
        with self.assertRaises(ValidationError):
            newcomer.with_user(ocadmin).write({"omnichannel_phone_extension": "101"})
        self.assertTrue(
            self.env.ref("omnichannel_inbox.omnichannel_menu_phone_extensions")
            .with_user(ocadmin)
            .search(
                [
                    (
                        "id",
                        "=",
                        self.env.ref(
                            "omnichannel_inbox.omnichannel_menu_phone_extensions"
                        ).id,
                    )
                ]
            ),
            "the list is in the Omnichannel configuration menu",
        )


@tagged("post_install", "-at_install")
class TestDownloadsStayWithTheProvider(CallsCase):
    """Recordings and media named by a payload are fetched only from the
    provider's hosts (or those an administrator allowed), never from the
    server's own network."""

    def setUp(self):
        super().setUp()
        self.files = FakeProviderServer().start()
        self.addCleanup(self.files.stop)
        self.files.route(
            "GET", "/", lambda request: (200, {"Content-Type": "audio/mpeg"}, MP3)
        )
        self.line = self._line(
            "phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET
        )

    def post_recording(self, url, call_id="rec-1"):
        when = time.time() - 60
        body = json.dumps(
            {
                "events": [
                    {
                        "event_id": call_id + "-a",
                        "call_id": call_id,
                        "event": "answered",
                        "direction": "in",
                        "customer_number": "+7 912 345 6789",
                        "extension": "101",
                        "timestamp": when,
                    },
                    {
                        "event_id": call_id + "-e",
                        "call_id": call_id,
                        "event": "ended",
                        "duration": 30,
                        "timestamp": when + 30,
                        "recording_url": url,
                    },
                ]
            }
        ).encode()
        self.assertEqual(
            self.post_webhook(
                self.line, body, headers=pbx_headers(PBX_SECRET, body)
            ).status_code,
            200,
        )
        self.env.invalidate_all()
        call = self.calls(self.line).filtered(lambda c: c.provider_call_id == call_id)
        self.assertEqual(
            call.recording_state, "pending", "the webhook itself downloads nothing"
        )
        self.assertFalse(self.files.requests)
        call.with_user(self.env.ref("base.user_admin")).action_retry_recording()
        return call

    def test_recording_on_the_server_network_is_refused_unless_allowed(self):
        local = self.files.url + "/rec/1.mp3"  # http://127.0.0.1:<port>/...
        call = self.post_recording(local)
        self.assertEqual(
            call.recording_state, "failed", "refused for good, not retried"
        )
        self.assertIn("not a host of this provider", call.recording_error)
        self.assertFalse(call.recording_attachment_id)
        # Listed, but on the loopback network, which the line does not allow.
        self.line.sudo().phone_media_hosts = "127.0.0.1"
        call = self.post_recording(local, call_id="rec-2")
        self.assertIn("local or private address", call.recording_error)
        self.assertFalse(self.files.requests, "nothing was fetched")
        # The administrator allows the PBX's own network: now it is downloaded.
        self.line.sudo().phone_media_private = True
        call = self.post_recording(local, call_id="rec-3")
        self.assertEqual(call.recording_state, "done")
        self.assertEqual(call.recording_attachment_id.raw, MP3)
        self.assertEqual(len(self.files.requests), 1)

    def test_recording_on_another_host_is_refused(self):
        self.line.sudo().write(
            {"phone_media_hosts": "pbx.example.com", "phone_media_private": True}
        )
        for number, url in enumerate(
            (
                "http://evil.example.net/a.mp3",
                "http://pbx.example.com.evil.net/a.mp3",
                f"http://pbx.example.com@127.0.0.1:{self.files.httpd.server_address[1]}/a.mp3",
            )
        ):
            call = self.post_recording(url, call_id=f"other-{number}")
            self.assertEqual(call.recording_state, "failed", url)
        self.assertFalse(self.files.requests, "nothing was fetched")

    def test_redirects_stay_on_the_host(self):
        other = FakeProviderServer().start()
        self.addCleanup(other.stop)
        other.route(
            "GET", "/", lambda request: (200, {"Content-Type": "audio/mpeg"}, MP3)
        )
        # "localhost" is the same machine under another name: another host.
        self.files.route(
            "GET",
            "/jump",
            lambda request: (
                302,
                {"Location": f"http://localhost:{other.httpd.server_address[1]}/x.mp3"},
                b"",
            ),
        )
        self.line.sudo().write(
            {"phone_media_hosts": "127.0.0.1", "phone_media_private": True}
        )
        call = self.post_recording(self.files.url + "/jump")
        self.assertEqual(call.recording_state, "failed")
        self.assertIn("localhost", call.recording_error)
        self.assertFalse(other.requests, "the redirect was not followed")

    def test_provider_media_hosts_resolve_to_public_addresses_only(self):
        # A host of the provider's list that resolves to the loopback (a DNS
        # answer pointing back at the server) is refused after resolution.
        with self.assertRaises(safe_http.DownloadRefused):
            safe_http.fetch(
                f"http://localhost:{self.files.httpd.server_address[1]}/a.mp3",
                allowed_hosts=["localhost"],
            )
        with self.assertRaises(safe_http.DownloadRefused):
            safe_http.fetch(
                f"http://127.0.0.1:{self.files.httpd.server_address[1]}/a.mp3",
                allowed_hosts=["127.0.0.1"],
            )
        with self.assertRaises(safe_http.DownloadRefused):
            safe_http.fetch(
                f"http://[::ffff:127.0.0.1]:{self.files.httpd.server_address[1]}/a.mp3",
                allowed_hosts=["::ffff:127.0.0.1"],
            )
        self.assertFalse(self.files.requests)
        # The size cap holds against what the server announces and sends.
        self.files.route(
            "GET",
            "/big",
            lambda request: (200, {"Content-Type": "audio/mpeg"}, MP3 * 100),
        )
        with self.assertRaisesRegex(connectors.ConnectorError, "larger than"):
            safe_http.fetch(
                self.files.url + "/big",
                allowed_hosts=[],
                trusted_hosts=["127.0.0.1"],
                max_bytes=len(MP3) * 10,
            )

    def test_message_media_and_graph_calls_never_follow_a_payload_elsewhere(self):
        # Messenger: attachment links of a payload are fetched from Meta's CDN only.
        page = self._create_channel(
            "messenger",
            name="Page",
            token="EAAG-PAGE",
            app_secret="s",
            verify_token="v",
            account_ref="900000001",
        )
        connector = page._get_connector()
        for url in (
            self.files.url + "/a.jpg",
            "http://169.254.169.254/latest/meta-data/",
            "https://scontent.fbcdn.net.evil.example/a.jpg",
        ):
            with self.assertRaises(safe_http.DownloadRefused, msg=url):
                connector.fetch_media(connectors.Attachment(kind="image", url=url))
        # WhatsApp: a media id that is an address (or a path) never reaches a request
        # with the token.
        graph = FakeProviderServer().start()
        self.addCleanup(graph.stop)
        wa = self._create_channel(
            "whatsapp",
            name="WA",
            token="EAAG-WA",
            app_secret="s",
            verify_token="v",
            account_ref="100000000000001",
            api_base_url=graph.url + "/v21.0",
        )
        connector = wa._get_connector()
        for file_id in (self.files.url + "/steal", "../../me", "media?fields=x"):
            with self.assertRaises(connectors.ConnectorError, msg=file_id):
                connector.fetch_media(
                    connectors.Attachment(kind="image", file_id=file_id)
                )
        with self.assertRaises(connectors.SendError):
            connector.graph("GET", self.files.url + "/v21.0/next-page")
        self.assertFalse(graph.requests)
        self.assertFalse(self.files.requests)


@tagged("post_install", "-at_install")
class TestPhoneReplays(CallsCase):
    """Signed notifications posted again are never applied: Zadarma's by the
    start of the call (its signature has no time of its own: kept in the
    journal as ignored, so that Zadarma stops retrying a late delivery), the
    generic PBX's and the bridge's by their signed timestamp (403), or, from a
    sender of before that header, by each event's own time."""

    def assert_ignored_as_replay(self, line, before):
        rows = self.journal(line) - before
        self.assertTrue(rows, "the authentic notification is journaled")
        self.assertEqual(set(rows.mapped("state")), {"ignored"})
        self.assertTrue(all("replay" in row.note for row in rows), rows.mapped("note"))

    def test_zadarma_notifications_outside_the_window_or_seen_before(self):
        zadarma, line = self._zadarma_line()

        def notify(event, **fields):
            body, headers = zadarma.notification(event, **fields)
            response = self.post_webhook(line, body, headers=headers)
            self.env.invalidate_all()
            return response

        def start(minutes_ago):
            return (
                datetime.datetime.now(MSK) - timedelta(minutes=minutes_ago)
            ).strftime("%Y-%m-%d %H:%M:%S")

        old = {
            "pbx_call_id": "old-1",
            "caller_id": "89123456789",
            "called_did": "74951234567",
            "call_start": start(11),
        }
        before = self.journal(line)
        self.assertEqual(notify("NOTIFY_START", **old).status_code, 200)
        self.assert_ignored_as_replay(line, before)
        self.assertFalse(
            self.calls(line), "a notification outside the window creates no call"
        )
        # Its recording has no call_start to judge: it is not left waiting
        # hours (retries) for a call that will never be applied.
        self.assertEqual(
            notify(
                "NOTIFY_RECORD", pbx_call_id="old-1", call_id_with_rec="1700000000.1"
            ).status_code,
            200,
        )
        record = self.journal(line).filtered(lambda row: row.event_kind == "call")
        self.assertEqual(record.state, "ignored")
        self.assertIn("replay window", record.note)
        # A call that started now is applied; its end, after 30 minutes of
        # talk, still is (the talk time is added to the window).
        fresh = dict(old, pbx_call_id="new-1", call_start=start(0))
        self.assertEqual(notify("NOTIFY_START", **fresh).status_code, 200)
        long_call = dict(old, pbx_call_id="long-1", call_start=start(35))
        self.assertEqual(
            notify(
                "NOTIFY_END",
                **dict(
                    long_call, duration="1800", disposition="answered", is_recorded="0"
                ),
            ).status_code,
            200,
        )
        before = self.journal(line)
        self.assertEqual(notify("NOTIFY_START", **long_call).status_code, 200)
        self.assert_ignored_as_replay(line, before)
        calls = self.calls(line)
        self.assertEqual(len(calls), 2, "but not its start, 35 minutes on")
        # The same signed notification posted again under another call id:
        # already seen, nothing new.
        journal = len(self.journal(line))
        self.assertEqual(
            notify("NOTIFY_START", **dict(fresh, pbx_call_id="forged-1")).status_code,
            200,
        )
        self.assertEqual(len(self.journal(line)), journal)
        self.assertEqual(self.calls(line), calls)
        # A forged one is still refused, with nothing stored.
        body, headers = zadarma.notification(
            "NOTIFY_START", secret="not-the-secret", **dict(fresh, call_start=start(1))
        )
        self.assertEqual(
            self.post_webhook(line, body, headers=headers).status_code, 403
        )
        self.assertEqual(len(self.journal(line)), journal)
        # The window is a setting.
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_inbox.phone_replay_window_minutes", "30"
        )
        self.assertEqual(
            notify(
                "NOTIFY_START", **dict(old, pbx_call_id="old-2", call_start=start(12))
            ).status_code,
            200,
        )
        self.assertEqual(len(self.calls(line)), 3)

    def test_pbx_webhook_needs_a_fresh_signed_timestamp(self):
        line = self._line("phone_webhook", name="Office PBX", webhook_secret=PBX_SECRET)

        def body_of(event_id, **event):
            return json.dumps(
                dict(
                    {
                        "event_id": event_id,
                        "call_id": event_id,
                        "event": "ringing",
                        "direction": "in",
                        "customer_number": "+7 912 345 6789",
                    },
                    **event,
                )
            ).encode()

        body = body_of("r1", timestamp=time.time())
        old = pbx_headers(PBX_SECRET, body, time.time() - 11 * 60)
        moved = dict(old, **{"X-Omnichannel-Timestamp": str(int(time.time()))})
        for headers in (old, moved):
            response = self.post_webhook(line, body, headers=headers)
            self.assertEqual(response.status_code, 403, headers)
        self.assertFalse(self.journal(line))

        # A script of before the header signs the body alone: authentic, but
        # an event outside the window, or with no time of its own, is kept
        # and never applied.
        def legacy(body):
            return {
                "X-Omnichannel-Signature": "sha256="
                + hmac.new(PBX_SECRET.encode(), body, hashlib.sha256).hexdigest()
            }

        for stale in (body_of("r2", timestamp=time.time() - 11 * 60), body_of("r3")):
            before = self.journal(line)
            self.assertEqual(
                self.post_webhook(line, stale, headers=legacy(stale)).status_code, 200
            )
            self.assert_ignored_as_replay(line, before)
        self.assertFalse(self.calls(line))
        forged = {"X-Omnichannel-Signature": "sha256=" + "0" * 64}
        self.assertEqual(self.post_webhook(line, body, headers=forged).status_code, 403)
        self.assertEqual(len(self.journal(line)), 2)
        # A recent event of such a script is applied; so is a fresh signed request.
        recent = body_of("r4", timestamp=time.time())
        self.assertEqual(
            self.post_webhook(line, recent, headers=legacy(recent)).status_code, 200
        )
        self.assertEqual(
            self.post_webhook(
                line, body, headers=pbx_headers(PBX_SECRET, body)
            ).status_code,
            200,
        )
        self.assertEqual(len(self.calls(line)), 2)

    def test_bridge_refuses_plain_http_unless_told(self):
        bridge = load_bridge()
        with self.assertRaises(ValueError):
            bridge.Bridge(
                "127.0.0.1:5038",
                "odoo",
                "x",
                "http://odoo.example.com/omnichannel/webhook/k",
                "s",
            )
        bridge.Bridge(
            "127.0.0.1:5038",
            "odoo",
            "x",
            "https://odoo.example.com/omnichannel/webhook/k",
            "s",
        )
        bridge.Bridge(
            "127.0.0.1:5038",
            "odoo",
            "x",
            "http://127.0.0.1/omnichannel/webhook/k",
            "s",
            allow_http=True,
        )
        with self.assertRaises(SystemExit):
            os.environ.update(AMI_SECRET="x", OMNICHANNEL_WEBHOOK_SECRET="y")
            self.addCleanup(os.environ.pop, "AMI_SECRET")
            self.addCleanup(os.environ.pop, "OMNICHANNEL_WEBHOOK_SECRET")
            bridge.main(["--webhook", "http://odoo.example.com/omnichannel/webhook/k"])


def self_signed_certificate(directory):
    """(certificate PEM, cert file, key file) of a certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pbx.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = (
        os.path.join(directory, "pbx.crt"),
        os.path.join(directory, "pbx.key"),
    )
    with open(cert_file, "w") as handle:
        handle.write(pem)
    with open(key_file, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return pem, cert_file, key_file


@tagged("post_install", "-at_install")
class TestAmiOverTls(CallsCase):
    """Asterisk's TLS manager port: Odoo's AMI connection and the bridge."""

    def setUp(self):
        super().setUp()
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        self.pem, cert_file, key_file = self_signed_certificate(directory)
        self.ca_file = cert_file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.ami = FakeAmiServer(
            username="odoo", secret="ami-secret", ssl_context=context
        ).start()
        self.addCleanup(self.ami.stop)
        self.line = self._line(
            "asterisk",
            name="Asterisk TLS",
            api_base_url="tls://" + self.ami.address,
            account_ref="odoo",
            token="ami-secret",
            webhook_secret="bridge-secret",
            phone_ami_ca=self.pem,
        )

    def test_test_connection_and_click_to_call_over_tls(self):
        admin = self.env.ref("base.user_admin")
        result = self.line.with_user(admin).action_test_connection()
        self.assertEqual(
            result["params"]["type"], "success", result["params"]["message"]
        )
        self.assertEqual(self.ami.tls_handshakes, 1)
        self.click_to_call()
        self.assertEqual(self.ami.find("Originate")[-1]["Channel"], "PJSIP/101")

    def test_an_unknown_certificate_is_refused(self):
        self.line.sudo().phone_ami_ca = False
        admin = self.env.ref("base.user_admin")
        result = self.line.with_user(admin).action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("TLS", result["params"]["message"])
        self.assertFalse(self.ami.find("Login"), "the secret was never sent")

    def test_bridge_reads_events_over_tls(self):
        bridge_module = load_bridge()
        url = f"{self.base_url()}/omnichannel/webhook/{self.line.webhook_key}"
        self.ami.script = inbound_call_script(
            "1718000400.40",
            "89123456789",
            "74951234567",
            "101",
            time.time() - 120,
            talk_seconds=30,
        )
        bridge = bridge_module.Bridge(
            "tls://" + self.ami.address,
            "odoo",
            "ami-secret",
            url,
            "bridge-secret",
            allow_http=True,
            ami_cafile=self.ca_file,
        )
        relevant = [e for e in self.ami.script if bridge_module.ami.is_call_event(e)]
        with self.allow_requests(all_requests=True):
            bridge.run(max_events=len(relevant), stop_after=30)
        self.env.invalidate_all()
        self.assertEqual(bridge.forwarded, len(relevant))
        call = self.calls(self.line)
        self.assertEqual((call.state, call.user_id), ("ended", self.seller))
