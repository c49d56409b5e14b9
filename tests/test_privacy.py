"""Privacy requests: export, forget, retention, and the access log."""

from datetime import timedelta
from email.utils import formatdate

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from . import test_email
from .common import OmnichannelHttpCase, OmnichannelTransactionCase


@tagged("post_install", "-at_install")
class TestPrivacy(OmnichannelHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel = cls._create_channel("sandbox", name="Privacy chat")
        cls.seller = new_test_user(
            cls.env, login="pv_seller", groups="sales_team.group_sale_salesman"
        )
        cls.manager = new_test_user(
            cls.env,
            login="pv_manager",
            password="pv_manager_pass",
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        cls.inbox_user = new_test_user(
            cls.env, login="pv_inbox", groups="omnichannel_inbox.group_omnichannel_user"
        )
        cls.Message = cls.env["omnichannel.message"].sudo()

    def receive(self, session, text, **contact):
        rows = self._journal_and_process(
            self.channel, [self._sandbox_event(session, text, **contact)]
        )
        self.assertEqual(rows.state, "done")
        return rows.conversation_id

    def add_file(self, conversation, name=b"passport scan"):
        message = self.Message.search(
            [("conversation_id", "=", conversation.id)], limit=1
        )
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": "scan.pdf",
                    "raw": name,
                    "res_model": conversation._name,
                    "res_id": conversation.id,
                }
            )
        )
        message.mail_message_id.sudo().attachment_ids = [Command.link(attachment.id)]
        return attachment

    def logs(self, action, partner):
        return (
            self.env["omnichannel.privacy.log"]
            .sudo()
            .search([("action", "=", action), ("partner_id", "=", partner.id)])
        )

    # -- export ----------------------------------------------------------------
    def test_export_holds_the_customer_history_and_nothing_else(self):
        anna = self.receive(
            "anna", "My address is Lenina 5, flat 12", name="Anna", phone="+79125550011"
        )
        self.receive("anna", "And my passport is 4510 123456", name="Anna")
        self.receive("boris", "Boris here, secret order", name="Boris")
        self.authenticate("pv_manager", "pv_manager_pass")
        response = self.url_open(f"/omnichannel/privacy/export/{anna.partner_id.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        data = response.json()
        self.assertEqual(data["customer"]["id"], anna.partner_id.id)
        texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
        self.assertIn("My address is Lenina 5, flat 12", texts)
        self.assertIn("And my passport is 4510 123456", texts)
        self.assertNotIn("Boris", response.text, "no other customer in the file")
        self.assertEqual(data["identities"][0]["provider_user_id"], "anna")
        self.assertEqual(
            len(self.logs("export", anna.partner_id)), 1, "the export is logged"
        )

    def test_export_is_refused_to_another_companys_manager_over_http(self):
        anna = self.receive("anna-mc", "My address is Lenina 5", name="Anna")
        other = self.env["res.company"].create({"name": "Other Shop"})
        new_test_user(
            self.env,
            login="pv_manager_b",
            password="pv_manager_b_pass",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        self.authenticate("pv_manager_b", "pv_manager_b_pass")
        response = self.url_open(f"/omnichannel/privacy/export/{anna.partner_id.id}")
        self.assertIn(response.status_code, (403, 404))
        self.assertNotIn("Lenina", response.text)
        self.assertFalse(self.logs("export", anna.partner_id))

    def test_export_is_refused_to_a_salesperson(self):
        anna = self.receive("anna2", "Hello", name="Anna")
        with self.assertRaises(AccessError):
            anna.partner_id.with_user(self.seller)._omnichannel_export_data()
        self.assertFalse(self.logs("export", anna.partner_id))

    # -- forget ----------------------------------------------------------------
    def figures(self, conversation):
        """What the reports show of a conversation."""
        self.env.flush_all()
        responses = (
            self.env["omnichannel.report.response"]
            .sudo()
            .search([("conversation_id", "=", conversation.id)], order="id")
        )
        row = (
            self.env["omnichannel.report.conversation"]
            .sudo()
            .search([("conversation_id", "=", conversation.id)])
        )
        return (
            responses.mapped(
                lambda r: (
                    r.date,
                    r.request_date,
                    r.response_hours,
                    r.is_first_response,
                )
            ),
            row.mapped(
                lambda r: (
                    r.date,
                    r.answered_count,
                    r.first_response_hours,
                    r.channel_type,
                )
            ),
            self.Message.search_count(
                [("conversation_id", "=", conversation.id), ("direction", "=", "in")]
            ),
        )

    def forget(self, partner, user):
        """Forget as a person does: the button, then the confirmation."""
        action = partner.with_user(user).action_omnichannel_forget()
        wizard = self.env[action["res_model"]].with_user(user).browse(action["res_id"])
        return wizard

    def test_forget_erases_content_and_keeps_anonymous_figures(self):
        conversation = self.receive(
            "olga",
            "I live at Tverskaya 1",
            name="Olga Ivanova",
            phone="+79125550022",
            email="olga@example.com",
        )
        attachment = self.add_file(conversation)
        partner, lead = conversation.partner_id, conversation.lead_id
        self.assertTrue(partner.omnichannel_auto_created)
        self.Message.panel_send(
            "crm.lead", lead.id, conversation.id, text="We will deliver on Monday"
        )
        messages = self.Message.search([("conversation_id", "=", conversation.id)])
        self.assertEqual(len(messages), 2)
        figures = self.figures(conversation)
        self.assertTrue(
            figures[0] and figures[1],
            "the reports count the conversation and its reply",
        )
        with self.assertRaises(AccessError):
            partner.with_user(self.seller).action_omnichannel_forget()

        wizard = self.forget(partner, self.manager)
        self.assertEqual(
            (wizard.conversation_count, wizard.message_count, wizard.identity_count),
            (1, 2, 1),
            "the confirmation says what will be erased",
        )
        self.assertTrue(wizard.contact_erased)
        self.assertIn(
            "Tverskaya", messages[-1].body, "nothing is erased before the confirmation"
        )
        wizard.action_forget()
        self.env.invalidate_all()
        self.assertEqual(
            self.Message.search([("conversation_id", "=", conversation.id)]),
            messages,
            "the messages stay as anonymous figures",
        )
        self.assertEqual(set(messages.mapped("direction")), {"in", "out"})
        for message in messages:
            self.assertFalse(message.body, "text erased")
        self.assertFalse(attachment.exists(), "files erased")
        identity = conversation.identity_id
        self.assertNotEqual(identity.provider_user_id, "olga")
        self.assertFalse(identity.phone or identity.email or identity.username)
        self.assertNotIn("Olga", partner.name)
        self.assertFalse(partner.phone or partner.email)
        self.assertNotIn("Olga", lead.name)
        self.assertFalse(lead.email_from or lead.phone)
        journal = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            .search([("conversation_id", "=", conversation.id)])
        )
        self.assertTrue(journal)
        self.assertNotIn(
            "Tverskaya",
            "".join(journal.mapped("payload")),
            "the journal copy is erased",
        )
        log = self.logs("forget", partner)
        self.assertEqual(
            (len(log), log.user_id, log.message_count), (1, self.manager, 2)
        )
        self.assertEqual(
            self.figures(conversation),
            figures,
            "the reports count exactly what they counted",
        )

        # The same person writing again is a new, unknown customer.
        again = self.receive("olga", "Hello again", name="Olga")
        self.assertNotEqual(again.partner_id, partner)
        self.assertNotEqual(again.identity_id, identity)
        self.assertEqual(again.identity_id.provider_user_id, "olga")
        self.assertNotIn(
            "Tverskaya",
            str(
                self.env["res.partner"]
                .with_user(self.manager)
                .browse(again.partner_id.id)
                ._omnichannel_export_data()
            ),
            "the new customer inherits nothing",
        )

    def test_forget_leaves_no_trace_outside_the_conversations(self):
        """Lock keys, a journal row no conversation took, tracked changes,
        a queued reply and an SMS body: all erased with the customer."""
        conversation = self.receive(
            "irina-v",
            "Call me at home",
            name="Irina Volkova",
            phone="+79125550044",
            email="irina@client.example.org",
        )
        partner, lead = conversation.partner_id, conversation.lead_id
        Lock = self.env["omnichannel.customer.lock"].sudo()
        keys = [
            f"omnichannel-identity:{self.channel.id}:irina-v",
            f"omnichannel-phone:{self.channel.company_id.id}:+79125550044",
            f"omnichannel-email:{self.channel.company_id.id}:irina@client.example.org",
        ]
        self.assertEqual(
            sorted(Lock.search([("key", "in", keys)]).mapped("key")), sorted(keys)
        )
        # A message still waiting in the journal (not processed yet).
        waiting = (
            self.env["omnichannel.inbound.event"]
            .sudo()
            ._journal(
                self.channel,
                [
                    self._sandbox_event(
                        "irina-v", "My passport is 4510 998877", name="Irina Volkova"
                    )
                ],
            )
        )
        self.assertFalse(waiting.conversation_id)
        # A change of her phone on the lead, tracked by CRM.
        lead.with_user(self.manager).phone = "+79125550045"
        self.env.cr.precommit.run()  # tracking is written when the transaction commits
        # A reply waiting to be sent, and an SMS about her in Odoo's SMS table.
        reply = self.Message.create(
            {
                "conversation_id": conversation.id,
                "direction": "out",
                "status": "queued",
                "author_kind": "employee",
                "next_send_date": fields.Datetime.now(),
            }
        )
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                {
                    "number": "+79125550044",
                    "body": "Your code is 1234, Irina",
                    "partner_id": partner.id,
                    "state": "error",
                }
            )
        )

        self.forget(partner, self.manager).action_forget()
        self.env.cr.precommit.run()
        self.env.invalidate_all()
        self.assertFalse(
            Lock.search([("key", "in", keys)]), "the lock keys held her phone and email"
        )
        self.assertNotIn("4510", waiting.payload)
        self.assertEqual(
            waiting.state, "ignored", "the waiting row will not bring her back"
        )
        trackings = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "crm.lead"),
                    ("mail_message_id.res_id", "=", lead.id),
                ]
            )
        )
        self.assertTrue(trackings)
        self.assertFalse(
            [
                v
                for t in trackings
                for v in (t.old_value_char, t.new_value_char)
                if v and "555" in v
            ]
        )
        self.assertEqual(reply.status, "failed", "the queued reply does not leave")
        self.assertEqual(
            self.Message._cron_send_queued(),
            self.Message,
            "and the queue does not send it",
        )
        self.assertFalse(sms.body)

    def test_retention_runs_in_batches_of_the_configured_size(self):
        old = [
            self.receive(f"old-{i}", f"Old order {i}", name=f"Old {i}")
            for i in range(3)
        ]
        for conversation in old:
            self.age(conversation, 300)
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("omnichannel_inbox.retention_months", "6")
        params.set_param("omnichannel_inbox.retention_batch_size", "2")
        Conversation = self.env["omnichannel.conversation"]
        self.assertEqual(Conversation._cron_apply_retention(), 2)
        self.assertEqual(Conversation._cron_apply_retention(), 1)
        self.assertEqual(Conversation._cron_apply_retention(), 0)

    def test_conversation_opened_from_the_inbox_is_logged(self):
        conversation = self.receive("inbox-opened", "Hello", name="Opened")
        conversation.sudo().user_id = self.seller
        Message = self.env["omnichannel.message"].with_user(self.seller)
        Message.with_context(omnichannel_panel_origin="inbox").panel_fetch(
            "omnichannel.conversation", conversation.id
        )
        row = (
            self.env["omnichannel.access.log"]
            .sudo()
            .search([("conversation_id", "=", conversation.id)])
        )
        self.assertEqual((row.user_id, row.origin), (self.seller, "inbox"))

    def test_forget_keeps_the_details_of_a_contact_entered_by_hand(self):
        conversation = self.receive(
            "pavel", "My card number is 4111 1111", name="Pavel", phone="+79125550033"
        )
        partner = conversation.partner_id
        # A customer the company entered itself (the inbox only linked to it).
        partner.sudo().write(
            {
                "omnichannel_auto_created": False,
                "name": "Pavel Petrov",
                "email": "pavel@example.com",
            }
        )
        wizard = self.forget(partner, self.manager)
        self.assertFalse(wizard.contact_erased)
        wizard.action_forget()
        self.env.invalidate_all()
        self.assertFalse(
            self.Message.search([("conversation_id", "=", conversation.id)]).body
        )
        self.assertNotEqual(conversation.identity_id.provider_user_id, "pavel")
        self.assertEqual(
            (partner.name, partner.email, partner.active),
            ("Pavel Petrov", "pavel@example.com", True),
            "the company's own contact record stays",
        )
        self.assertTrue(self.logs("forget", partner).note)

    def test_privacy_log_is_for_managers(self):
        anna = self.receive("anna3", "Hello", name="Anna")
        anna.partner_id.with_user(self.manager)._omnichannel_export_data()
        Log = self.env["omnichannel.privacy.log"]
        self.assertEqual(
            Log.with_user(self.manager)
            .search([("partner_id", "=", anna.partner_id.id)])
            .action,
            "export",
        )
        with self.assertRaises(AccessError):
            Log.with_user(self.inbox_user).search([])

    # -- retention -------------------------------------------------------------
    def age(self, conversation, days):
        past = fields.Datetime.now() - timedelta(days=days)
        self.env.cr.execute(
            "UPDATE omnichannel_conversation SET create_date = %s, "
            "last_message_date = %s WHERE id = %s",
            [past, past, conversation.id],
        )
        self.env.invalidate_all()

    def test_retention_anonymizes_old_conversations_only(self):
        old = self.receive("old-customer", "An order from long ago", name="Old")
        recent = self.receive("new-customer", "An order of today", name="New")
        self.age(old, 300)
        Conversation = self.env["omnichannel.conversation"]
        self.assertEqual(
            Conversation._cron_apply_retention(), 0, "no policy: kept forever"
        )
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("omnichannel_inbox.retention_months", "6")
        params.set_param("omnichannel_inbox.retention_action", "anonymize")
        self.assertEqual(Conversation._cron_apply_retention(), 1)
        self.env.invalidate_all()
        self.assertTrue(old.privacy_erased_date)
        self.assertFalse(self.Message.search([("conversation_id", "=", old.id)]).body)
        self.assertFalse(recent.privacy_erased_date)
        self.assertIn(
            "An order of today",
            self.Message.search([("conversation_id", "=", recent.id)]).body,
        )
        self.assertEqual(Conversation._cron_apply_retention(), 0, "done once")
        self.assertTrue(
            self.env["omnichannel.privacy.log"]
            .sudo()
            .search([("action", "=", "retention_anonymize")])
        )

    def test_retention_purge_deletes_old_conversations(self):
        old = self.receive("purged-customer", "Delete me one day", name="Gone")
        recent = self.receive("kept-customer", "Keep me", name="Kept")
        self.age(old, 400)
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("omnichannel_inbox.retention_months", "12")
        params.set_param("omnichannel_inbox.retention_action", "purge")
        self.env["omnichannel.conversation"]._cron_apply_retention()
        self.assertFalse(old.exists())
        self.assertFalse(self.Message.search([("body", "ilike", "Delete me")]))
        self.assertTrue(recent.exists())

    # -- access log ------------------------------------------------------------
    def test_opening_a_conversation_is_logged_for_managers(self):
        conversation = self.receive("watched", "Hello", name="Watched")
        conversation.sudo().user_id = self.seller
        conversation.lead_id.sudo().user_id = self.seller
        Log = self.env["omnichannel.access.log"].sudo()
        conversation.with_user(self.seller).web_read({"name": {}})
        conversation.with_user(self.seller).web_read({"name": {}})
        self.env["omnichannel.message"].with_user(self.seller).panel_fetch(
            "crm.lead", conversation.lead_id.id
        )
        rows = Log.search([("conversation_id", "=", conversation.id)])
        self.assertEqual(rows.user_id, self.seller)
        self.assertEqual(
            len(rows), 1, "one row per person and conversation within ten minutes"
        )
        rows.date = fields.Datetime.now() - timedelta(minutes=30)
        self.env["omnichannel.message"].with_user(self.seller).panel_fetch(
            "crm.lead", conversation.lead_id.id
        )
        self.assertEqual(
            len(Log.search([("conversation_id", "=", conversation.id)])), 2
        )
        self.assertEqual(
            Log.search([("conversation_id", "=", conversation.id)], limit=1).origin,
            "panel",
        )
        self.assertEqual(
            self.env["omnichannel.access.log"]
            .with_user(self.manager)
            .search_count([("conversation_id", "=", conversation.id)]),
            2,
        )
        with self.assertRaises(AccessError):
            self.env["omnichannel.access.log"].with_user(self.inbox_user).search([])


@tagged("post_install", "-at_install")
class TestPrivacyEmail(OmnichannelTransactionCase):
    """Forgetting a customer who wrote by email: the emails live on the
    lead, not on the conversation, and must be erased too."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        domain = cls.env["mail.alias.domain"].create(
            {
                "name": "shop.example.com",
                "catchall_alias": "catchall",
                "bounce_alias": "bounce",
                "default_from": "notifications",
                "company_ids": [Command.link(cls.env.company.id)],
            }
        )
        cls.env.company.alias_domain_id = domain
        team = cls.env.ref("sales_team.team_sales_department")
        team.alias_id.sudo().write(
            {"alias_domain_id": domain.id, "alias_name": "sales"}
        )
        cls.manager = new_test_user(
            cls.env,
            login="pve_manager",
            groups="omnichannel_inbox.group_omnichannel_manager",
        )
        cls.Message = cls.env["omnichannel.message"].sudo()

    def test_forget_erases_the_emails_on_the_lead(self):
        raw = test_email.INCOMING.format(
            date=formatdate(),
            email="irina@client.example.org",
            sender="Irina Smirnova",
            to="sales@shop.example.com",
            subject="Delivery to Nevsky 28",
            msg_id="<irina-1@client.example.org>",
            extra="",
            body="Please deliver to Nevsky prospekt 28, flat 4.",
        )
        self.env["mail.thread"].message_process(None, raw.encode())
        question = self.env["mail.message"].search(
            [("message_id", "=", "<irina-1@client.example.org>")]
        )
        lead = self.env["crm.lead"].browse(question.res_id)
        conversation = self.Message.search(
            [("mail_message_id", "=", question.id)]
        ).conversation_id
        sent = self.Message.panel_send(
            "crm.lead",
            lead.id,
            conversation.id,
            text="We deliver to Nevsky 28 tomorrow.",
        )
        reply = self.env["mail.message"].search(
            [("message_id", "=", self.Message.browse(sent["id"]).provider_message_id)]
        )
        self.assertEqual(
            (reply.model, reply.res_id),
            ("crm.lead", lead.id),
            "the reply is an email on the lead",
        )
        self.assertIn("Nevsky", reply.body)

        self.env["res.partner"].with_user(self.manager).browse(
            lead.partner_id.id
        ).action_omnichannel_forget()
        wizard = (
            self.env["omnichannel.privacy.forget.wizard"]
            .with_user(self.manager)
            .search([("partner_id", "=", lead.partner_id.id)])
        )
        wizard.action_forget()
        self.env.invalidate_all()
        self.assertFalse(
            question.body or question.subject, "the customer's email is erased"
        )
        self.assertFalse(
            reply.body or reply.subject, "our answer quoting them is erased"
        )
        queued = (
            self.env["mail.mail"].sudo().search([("mail_message_id", "=", reply.id)])
        )
        self.assertNotIn(
            "Nevsky",
            "".join(queued.mapped(lambda m: m.body_html or "")),
            "nor is it left in the outgoing mail queue",
        )
        self.assertEqual(
            self.Message.search_count([("conversation_id", "=", conversation.id)]),
            2,
            "both stay counted",
        )


@tagged("post_install", "-at_install")
class TestPrivacyTour(OmnichannelHttpCase):
    """The forget request in a browser, as a manager makes it."""

    def test_forget_wizard_in_the_browser(self):
        channel = self._create_channel("sandbox", name="Tour privacy chat")
        rows = self._journal_and_process(
            channel,
            [
                self._sandbox_event(
                    "tour-forget",
                    "My flat is at Tverskaya 7",
                    name="Irina Tour",
                    phone="+79125550077",
                )
            ],
        )
        conversation = rows.conversation_id
        partner = conversation.partner_id
        new_test_user(
            self.env,
            login="pv_tour_manager",
            password="pv_tour_manager_pass",
            groups="omnichannel_inbox.group_omnichannel_manager,base.group_partner_manager",
        )
        self.start_tour(
            f"/odoo/res.partner/{partner.id}",
            "omnichannel_forget_customer_tour",
            login="pv_tour_manager",
        )
        self.env.invalidate_all()
        self.assertFalse(
            conversation.omnichannel_message_ids.body, "the text is erased"
        )
        self.assertNotIn("Irina", partner.name)
        self.assertTrue(
            self.env["omnichannel.privacy.log"]
            .sudo()
            .search([("action", "=", "forget"), ("partner_id", "=", partner.id)])
        )
