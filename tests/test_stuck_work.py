import json
import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.orm.registry import DummyRLock
from odoo.sql_db import db_connect
from odoo.tests import new_test_user, tagged
from odoo.tests.common import BaseCase, get_db_name

from ..omnichannel_inbox.models.omnichannel_attachment_download import (
    DOWNLOAD_RETRY_DELAYS,
)
from ..omnichannel_inbox.models.omnichannel_inbound_event import (
    RETRY_DELAYS,
)
from .common import OmnichannelHttpCase
from .fake_telegram import FakeTelegramServer, tg_update, tg_user
from .test_telegram import PNG, SECRET_HEADER

PAST = "2000-01-01 00:00:00"


class TelegramStuckCase(OmnichannelHttpCase):
    def setUp(self):
        super().setUp()
        self.bot_api = FakeTelegramServer(token="321:FILES").start()
        self.addCleanup(self.bot_api.stop)
        self.channel = self._create_channel(
            "telegram",
            name="Files bot",
            token="321:FILES",
            webhook_secret="files-secret",
            api_base_url=self.bot_api.url,
        )
        self.Journal = self.env["omnichannel.inbound.event"].sudo()
        self.Message = self.env["omnichannel.message"].sudo()
        self.Download = self.env["omnichannel.attachment.download"].sudo()
        self.Alert = self.env["omnichannel.alert"].sudo()
        self.admin = self.env.ref("base.user_admin")

    def send(self, update):
        response = self.post_webhook(
            self.channel, update, headers={SECRET_HEADER: "files-secret"}
        )
        self.assertEqual(response.status_code, 200, response.text)
        return self.Message.search(
            [("channel_id", "=", self.channel.id)], order="id desc", limit=1
        )

    def cron_woken(self, xmlid):
        cron = self.env.ref(xmlid)
        return self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])

    def admin_notifications(self, alert):
        """Messages of ``alert`` that reached the administrator's inbox."""
        return alert.message_ids.filtered(
            lambda m: self.admin.partner_id in m.notified_partner_ids
        )


@tagged("post_install", "-at_install")
class TestFileDownloads(TelegramStuckCase):
    """The text never waits for its files: placeholder, then the file."""

    def photo_update(self, update_id, caption="Вот такой диван, есть в наличии?"):
        self.bot_api.add_file(f"photo-{update_id}", PNG, f"photos/file_{update_id}.jpg")
        return tg_update(
            update_id,
            caption=caption,
            photo=[
                {
                    "file_id": f"photo-{update_id}",
                    "file_unique_id": f"u{update_id}",
                    "width": 800,
                    "height": 600,
                    "file_size": len(PNG),
                }
            ],
        )

    def panel_message(self, message, lead=None):
        lead = lead or message.conversation_id.lead_id
        data = self.env["omnichannel.message"].panel_fetch("crm.lead", lead.id)
        return next(m for m in data["messages"] if m["id"] == message.id)

    def test_text_at_once_then_the_file_replaces_its_placeholder(self):
        self.bot_api.file_server_down = True
        self.env["ir.cron.trigger"].sudo().search([]).unlink()
        message = self.send(self.photo_update(101))
        self.assertEqual(
            self.Journal.search([("channel_id", "=", self.channel.id)]).state,
            "done",
            "the journal row is done as soon as the text is stored",
        )
        self.assertFalse(
            self.bot_api.find("/file/bot"), "no download inside the webhook request"
        )
        self.assertFalse(self.bot_api.calls("getFile"))
        self.assertTrue(
            self.cron_woken("omnichannel_inbox.ir_cron_download_attachments"),
            "the download cron is woken",
        )
        shown = self.panel_message(message)
        self.assertIn(
            "Вот такой диван", shown["body"], "the salesperson reads the text at once"
        )
        self.assertFalse(shown["attachments"])
        self.assertEqual(
            [(f["kind_label"], f["state"]) for f in shown["pending_files"]],
            [("photo", "pending")],
        )

        # The file server is down: the try fails, the placeholder stays, a retry is
        # scheduled.
        self.run_downloads()
        download = message.download_ids
        self.assertEqual((download.state, download.attempts), ("pending", 1))
        self.assertIn("Bad Gateway", download.error_message)
        self.assertGreater(download.next_attempt_date, fields.Datetime.now())
        self.assertEqual(
            self.panel_message(message)["pending_files"][0]["state"], "pending"
        )
        self.assertFalse(message.attachment_ids)

        # Back up; the retry time comes: the file arrives and replaces the placeholder.
        self.bot_api.file_server_down = False
        self.run_downloads()
        self.assertEqual(download.state, "pending", "not before its retry time")
        download.next_attempt_date = PAST
        self.run_downloads()
        self.assertEqual(download.state, "done")
        self.assertEqual(message.attachment_ids.raw, PNG)
        shown = self.panel_message(message)
        self.assertFalse(shown["pending_files"])
        self.assertEqual(
            [a["name"] for a in shown["attachments"]], [message.attachment_ids.name]
        )
        self.assertTrue(shown["attachments"][0]["is_image"])

    def test_permanent_failure_shows_the_reason_and_retry_works(self):
        self.bot_api.file_server_down = True
        message = self.send(self.photo_update(102))
        download = message.download_ids
        for _attempt in range(len(DOWNLOAD_RETRY_DELAYS) + 1):
            download.next_attempt_date = PAST
            self.run_downloads()
        self.assertEqual(download.state, "failed")
        self.assertEqual(download.attempts, len(DOWNLOAD_RETRY_DELAYS) + 1)
        placeholder = self.panel_message(message)["pending_files"][0]
        self.assertEqual(placeholder["state"], "failed")
        self.assertIn("Bad Gateway", placeholder["error"], "the reason is shown")
        self.assertTrue(
            message.conversation_id.message_ids.filtered(
                lambda m: "could not be downloaded" in (m.body or "")
            ),
            "and said in the chatter",
        )

        # A salesperson retries from the lead's chat panel.
        lead = message.conversation_id.lead_id
        salesperson = new_test_user(
            self.env, "files_sales", groups="omnichannel_inbox.group_omnichannel_user"
        )
        lead.user_id = salesperson
        message.conversation_id.user_id = salesperson
        other_lead = self.env["crm.lead"].create(
            {"name": "Someone else", "user_id": salesperson.id}
        )
        Panel = self.env["omnichannel.message"].with_user(salesperson)
        with self.assertRaises(UserError, msg="only from a form showing that message"):
            Panel.panel_retry_download("crm.lead", other_lead.id, download.id)
        self.assertEqual(download.state, "failed", "a refused retry changes nothing")
        self.bot_api.file_server_down = False
        shown = Panel.panel_retry_download("crm.lead", lead.id, download.id)
        self.assertEqual(
            shown["pending_files"][0]["state"], "pending", "downloading again"
        )
        self.assertEqual(download.attempts, 0)
        self.run_downloads()
        self.assertEqual(download.state, "done")
        self.assertEqual(message.attachment_ids.raw, PNG)

    def test_erased_conversation_fetches_no_file_afterwards(self):
        self.bot_api.file_server_down = True
        message = self.send(self.photo_update(103))
        self.run_downloads()
        self.assertEqual(message.download_ids.state, "pending")
        message.conversation_id._privacy_erase_content()
        self.assertFalse(
            self.Download.search([("message_id", "=", message.id)]),
            "no file waits for an erased customer",
        )
        self.bot_api.file_server_down = False
        self.run_downloads()
        self.assertFalse(
            message.attachment_ids, "the erased content does not come back"
        )


@tagged("post_install", "-at_install")
class TestStuckWorkAlerts(TelegramStuckCase):
    """Stuck work reaches the administrators once per condition and shows on
    the dashboard."""

    def stuck_row(self, event_id):
        """A journal row on its last automatic try whose payload no longer
        reads (a parser changed): it runs out of retries."""
        row = self.Journal.create(
            {
                "channel_id": self.channel.id,
                "company_id": self.channel.company_id.id,
                "provider_event_id": event_id,
                "event_kind": "message",
                "payload": json.dumps({"kind": "message", "event_id": event_id}),
                "attempts": len(RETRY_DELAYS),
                "next_attempt_date": PAST,
                "state": "error",
            }
        )
        row._process()
        self.assertEqual((row.state, row.next_attempt_date), ("error", False))
        return row

    def test_journal_row_out_of_retries_alerts_once(self):
        first = self.stuck_row("stuck-1")
        alert = self.Alert.search([("channel_id", "=", self.channel.id)])
        self.assertEqual(
            (alert.kind, alert.state, alert.count), ("journal_stuck", "open", 1)
        )
        self.assertEqual(
            len(self.admin_notifications(alert)), 1, "the administrators are told"
        )
        self.stuck_row("stuck-2")
        self.Alert._cron_check_health()
        self.assertEqual(
            self.Alert.search([("channel_id", "=", self.channel.id)]),
            alert,
            "one alert, grouped",
        )
        self.assertEqual(alert.count, 2)
        self.assertEqual(
            len(self.admin_notifications(alert)), 1, "not again while unchanged"
        )
        dashboard = {
            line["name"]: line
            for line in self.env["omnichannel.dashboard"].get_stuck_work_data()
        }
        self.assertEqual(dashboard["journal_stuck"]["count"], 2)
        self.assertEqual(
            self.env[dashboard["journal_stuck"]["action"]["res_model"]].search_count(
                dashboard["journal_stuck"]["action"]["domain"]
            ),
            2,
            "the link opens those rows",
        )
        self.assertGreaterEqual(dashboard["alerts"]["count"], 1)

        # Handled (the rows were re-run); the health check closes the alert, a new case
        # alerts again.
        self.Journal.search([("channel_id", "=", self.channel.id)]).write(
            {"state": "done"}
        )
        self.Alert._cron_check_health()
        self.assertEqual(alert.state, "resolved")
        self.assertTrue(first)
        self.stuck_row("stuck-3")
        new_alert = self.Alert.search(
            [("channel_id", "=", self.channel.id), ("state", "=", "open")]
        )
        self.assertNotEqual(new_alert, alert)
        self.assertEqual(len(self.admin_notifications(new_alert)), 1)

    def test_salesperson_sees_no_stuck_work_figures(self):
        salesperson = new_test_user(
            self.env, "stuck_sales", groups="omnichannel_inbox.group_omnichannel_user"
        )
        self.assertEqual(
            self.env["omnichannel.dashboard"]
            .with_user(salesperson)
            .get_stuck_work_data(),
            [],
        )

    def test_reply_failed_for_good_alerts_once_and_panel_shows_the_next_try(self):
        conversation = self.send(tg_update(1, text="Hello")).conversation_id
        # Provider down: the reply is queued and the panel says when it is tried again.
        self.bot_api.fail("sendMessage", 502, "Bad Gateway")
        queued = conversation._post_reply("Price list attached soon")
        self.assertEqual(queued.status, "queued")
        data = self.env["omnichannel.message"].panel_fetch(
            "crm.lead", conversation.lead_id.id
        )
        shown = next(m for m in data["messages"] if m["id"] == queued.id)
        self.assertEqual(
            shown["next_send_date"], fields.Datetime.to_string(queued.next_send_date)
        )
        self.assertFalse(
            self.Alert.search([("channel_id", "=", self.channel.id)]),
            "a retry is no alert yet",
        )

        # Refused for good (not a blocked customer): the administrators are told once.
        self.bot_api.fail("sendMessage", 400, "Bad Request: message text is empty")
        failed = conversation._post_reply("First")
        self.assertEqual(failed.status, "failed")
        self.assertFalse(
            next(
                m
                for m in self.env["omnichannel.message"].panel_fetch(
                    "crm.lead", conversation.lead_id.id
                )["messages"]
                if m["id"] == failed.id
            )["next_send_date"]
        )
        alert = self.Alert.search([("channel_id", "=", self.channel.id)])
        self.assertEqual((alert.kind, alert.count), ("send_failed", 1))
        self.assertIn("message text is empty", alert.detail.lower())
        conversation._post_reply("Second")
        self.assertEqual(alert.count, 2)
        self.assertEqual(
            len(self.admin_notifications(alert)), 1, "grouped, not one per message"
        )

        # Replies go out again: the health check closes it.
        del self.bot_api.failures["sendMessage"]
        alert.last_date = fields.Datetime.now() - timedelta(seconds=5)
        self.assertEqual(conversation._post_reply("Third").status, "sent")
        self.Alert._cron_check_health()
        self.assertEqual(alert.state, "resolved")

    def test_blocked_customer_is_not_an_admin_alert(self):
        conversation = self.send(tg_update(1, text="Hello")).conversation_id
        self.bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        self.assertEqual(conversation._post_reply("Anyone?").status, "failed")
        self.assertFalse(
            self.Alert.search([("channel_id", "=", self.channel.id)]),
            "the salesperson sees it in the chat; the account is fine",
        )

    def test_telegram_webhook_error_reaches_the_admin(self):
        self.Alert._cron_check_health()
        self.assertFalse(
            self.Alert.search([("channel_id", "=", self.channel.id)]),
            "no error, no alert",
        )
        self.bot_api.webhook_error("Wrong response from the webhook: 502 Bad Gateway")
        self.Alert._cron_check_health()
        alert = self.Alert.search([("channel_id", "=", self.channel.id)])
        self.assertEqual((alert.kind, alert.state), ("provider_error", "open"))
        self.assertIn("Wrong response from the webhook: 502 Bad Gateway", alert.detail)
        notified = self.admin_notifications(alert)
        self.assertEqual(len(notified), 1)
        self.assertIn("Wrong response from the webhook", notified.body)
        self.assertTrue(
            self.admin.partner_id in notified.notification_ids.res_partner_id,
            "in the administrator's notifications",
        )
        self.assertTrue(self.bot_api.calls("getWebhookInfo"))

        # Telegram fails again with the same error (a newer date): no new notification.
        self.bot_api.webhook_error("Wrong response from the webhook: 502 Bad Gateway")
        self.Alert._cron_check_health()
        self.assertEqual(len(self.admin_notifications(alert)), 1)
        # Another error: said again.
        self.bot_api.webhook_error("Connection timed out")
        self.Alert._cron_check_health()
        self.assertEqual(len(self.admin_notifications(alert)), 2)
        self.assertIn("Connection timed out", alert.detail)
        # Telegram keeps its last error after it recovers: a day-old one is over.
        self.bot_api.webhook_error("Connection timed out", when=time.time() - 2 * 86400)
        self.Alert._cron_check_health()
        self.assertEqual(alert.state, "resolved")

    def test_channel_that_stopped_receiving_alerts_once(self):
        quiet = self.Journal.browse()
        for index in range(25):
            quiet |= self.Journal._journal(
                self.channel, [self._sandbox_event(f"s{index}")]
            )
        self.env.cr.execute(
            "UPDATE omnichannel_inbound_event SET received_date = %s, state = "
            "'done' WHERE id IN %s",
            [fields.Datetime.now() - timedelta(hours=30), tuple(quiet.ids)],
        )
        self.Journal.invalidate_model()
        self.channel.silence_alert_hours = 24
        few = self._create_channel(
            "telegram",
            name="Quiet bot",
            token="1:Q",
            webhook_secret="q",
            api_base_url=self.bot_api.url,
        )
        self.Journal._journal(few, [self._sandbox_event("few")])
        self.env.cr.execute(
            "UPDATE omnichannel_inbound_event SET received_date = %s WHERE "
            "channel_id = %s",
            [fields.Datetime.now() - timedelta(hours=30), few.id],
        )
        self.Alert._cron_check_health()
        alert = self.Alert.search(
            [("channel_id", "=", self.channel.id), ("kind", "=", "silent")]
        )
        self.assertEqual(alert.state, "open")
        self.assertEqual(alert.count, 25)
        self.assertEqual(len(self.admin_notifications(alert)), 1)
        self.assertFalse(
            self.Alert.search([("channel_id", "=", few.id), ("kind", "=", "silent")]),
            "a channel that rarely hears is no alert",
        )
        self.Alert._cron_check_health()
        self.assertEqual(
            len(self.admin_notifications(alert)), 1, "not again while unchanged"
        )
        self.send(tg_update(900, user=tg_user(5550999), text="still there?"))
        self.Alert._cron_check_health()
        self.assertEqual(alert.state, "resolved", "an event arrived")


@tagged("post_install", "-at_install")
class TestStuckWorkTours(TelegramStuckCase):
    """The placeholder, its Retry and the stuck-work counts in a real browser."""

    def test_placeholder_retry_and_next_try_in_the_chat_panel(self):
        self.bot_api.file_server_down = True
        self.bot_api.add_file("sofa", PNG, "photos/sofa.jpg")
        message = self.send(
            tg_update(
                301,
                caption="Вот такой диван",
                photo=[
                    {
                        "file_id": "sofa",
                        "file_unique_id": "sofa",
                        "width": 800,
                        "height": 600,
                        "file_size": len(PNG),
                    }
                ],
            )
        )
        download = message.download_ids
        for _attempt in range(len(DOWNLOAD_RETRY_DELAYS) + 1):
            download.next_attempt_date = PAST
            self.run_downloads()
        self.assertEqual(download.state, "failed")
        self.bot_api.fail("sendMessage", 502, "Bad Gateway")
        self.assertEqual(
            message.conversation_id._post_reply("Сейчас уточню").status, "queued"
        )
        lead = message.conversation_id.lead_id
        self.start_tour(
            f"/odoo/crm.lead/{lead.id}",
            "omnichannel_file_placeholder_tour",
            login="admin",
        )
        self.assertEqual(download.state, "pending", "Retry put it back in the queue")
        self.bot_api.file_server_down = False
        self.run_downloads()
        self.assertEqual(message.attachment_ids.raw, PNG)

    def test_dashboard_counts_and_opens_stuck_work(self):
        self.Journal.search(
            [("state", "=", "error"), ("next_attempt_date", "=", False)]
        ).write({"state": "done"})
        row = self.Journal.create(
            {
                "channel_id": self.channel.id,
                "company_id": self.channel.company_id.id,
                "provider_event_id": "tour-stuck",
                "event_kind": "message",
                "payload": json.dumps({"kind": "message", "event_id": "tour-stuck"}),
                "attempts": len(RETRY_DELAYS),
                "next_attempt_date": PAST,
                "state": "error",
            }
        )
        row._process()
        self.start_tour(
            "/odoo/action-omnichannel_inbox.omnichannel_dashboard_action",
            "omnichannel_stuck_work_dashboard_tour",
            login="admin",
        )


@tagged("post_install", "-at_install")
class TestConcurrentDownloads(BaseCase):
    """Two cron workers on the download queue at the same moment, each with
    its own committed transaction: every file is fetched once, nobody waits."""

    def setUp(self):
        super().setUp()
        self.dbname = get_db_name()
        self.patch(Registry, "_lock", DummyRLock())
        self.bot_api = FakeTelegramServer(token="777:CONC").start()
        self.addCleanup(self.bot_api.stop)
        self.bot_api.file_delay = 0.3
        self.channel_id = None
        self.addCleanup(self._remove_committed_data)

    def run_in_env(self, func):
        with db_connect(self.dbname).cursor() as cr:
            result = func(api.Environment(cr, SUPERUSER_ID, {}))
            cr.commit()
            return result

    def _remove_committed_data(self):
        def remove(env):
            channel = env["omnichannel.channel"].browse(self.channel_id).exists()
            if not channel:
                return
            conversations = env["omnichannel.conversation"].search(
                [("channel_id", "=", channel.id)]
            )
            identities = env["omnichannel.identity"].search(
                [("channel_id", "=", channel.id)]
            )
            partners = identities.partner_id | conversations.partner_id
            env["ir.attachment"].search(
                [
                    ("res_model", "=", "omnichannel.conversation"),
                    ("res_id", "in", conversations.ids),
                ]
            ).unlink()
            env["omnichannel.inbound.event"].search(
                [("channel_id", "=", channel.id)]
            ).unlink()
            env["omnichannel.message"].search(
                [("channel_id", "=", channel.id)]
            ).unlink()
            conversations.unlink()
            env["crm.lead"].with_context(active_test=False).search(
                [("partner_id", "in", partners.ids)]
            ).unlink()
            identities.unlink()
            partners.unlink()
            channel.unlink()

        self.run_in_env(remove)

    def test_two_workers_fetch_each_file_once(self):
        def receive(env):
            env.company.country_id = env.ref("base.ru")
            channel = env["omnichannel.channel"].create(
                {
                    "name": "Concurrent files",
                    "channel_type": "telegram",
                    "token": "777:CONC",
                    "webhook_secret": "c",
                    "api_base_url": self.bot_api.url,
                }
            )
            connector = channel._get_connector()
            events = []
            for index in range(4):
                self.bot_api.add_file(
                    f"f{index}",
                    b"file %d" % index,
                    f"documents/f{index}.pdf",
                )
                update = tg_update(
                    700 + index,
                    user=tg_user(5557000 + index),
                    document={
                        "file_id": f"f{index}",
                        "file_unique_id": f"u{index}",
                        "file_name": f"f{index}.pdf",
                        "mime_type": "application/pdf",
                        "file_size": 6,
                    },
                )
                events += connector.parse({}, json.dumps(update).encode(), {})
            env["omnichannel.inbound.event"]._journal(channel, events)._process()
            return channel.id

        self.channel_id = self.run_in_env(receive)

        barrier = threading.Barrier(2)
        errors, taken = [], []

        def worker():
            try:
                with db_connect(self.dbname).cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    barrier.wait(timeout=30)
                    taken.append(
                        set(env["omnichannel.attachment.download"]._cron_download().ids)
                    )
                    cr.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse(errors, errors)
        self.assertEqual(len(taken), 2, "neither worker failed")
        self.assertFalse(taken[0] & taken[1], "no file taken by both")
        self.assertEqual(len(taken[0] | taken[1]), 4)

        def check(env):
            rows = env["omnichannel.attachment.download"].search(
                [("channel_id", "=", self.channel_id)]
            )
            return sorted(rows.mapped("state")), sorted(
                rows.mapped("attachment_id.raw")
            )

        states, contents = self.run_in_env(check)
        self.assertEqual(states, ["done"] * 4)
        self.assertEqual(contents, [b"file %d" % i for i in range(4)])
        fetched = [r.path for r in self.bot_api.find("/file/bot")]
        self.assertEqual(sorted(fetched), sorted(set(fetched)), "no file fetched twice")
        self.assertEqual(len(fetched), 4)
