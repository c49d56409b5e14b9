"""Privacy requests: export, forget, retention, and the access log."""
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelHttpCase


@tagged('post_install', '-at_install')
class TestPrivacy(OmnichannelHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel = cls._create_channel('sandbox', name='Privacy chat')
        cls.seller = new_test_user(cls.env, login='pv_seller', groups='sales_team.group_sale_salesman')
        cls.manager = new_test_user(cls.env, login='pv_manager', password='pv_manager_pass',
                                    groups='omnichannel_inbox.group_omnichannel_manager')
        cls.admin = new_test_user(cls.env, login='pv_admin', groups='omnichannel_inbox.group_omnichannel_admin')
        cls.Message = cls.env['omnichannel.message'].sudo()

    def receive(self, session, text, **contact):
        rows = self._journal_and_process(self.channel, [self._sandbox_event(session, text, **contact)])
        self.assertEqual(rows.state, 'done')
        return rows.conversation_id

    def add_file(self, conversation, name=b'passport scan'):
        message = self.Message.search([('conversation_id', '=', conversation.id)], limit=1)
        attachment = self.env['ir.attachment'].sudo().create({
            'name': 'scan.pdf', 'raw': name, 'res_model': conversation._name, 'res_id': conversation.id})
        message.mail_message_id.sudo().attachment_ids = [Command.link(attachment.id)]
        return attachment

    def logs(self, action, partner):
        return self.env['omnichannel.privacy.log'].sudo().search([('action', '=', action), ('partner_id', '=', partner.id)])

    # -- export ----------------------------------------------------------------
    def test_export_holds_the_customer_history_and_nothing_else(self):
        anna = self.receive('anna', 'My address is Lenina 5, flat 12', name='Anna', phone='+79125550011')
        self.receive('anna', 'And my passport is 4510 123456', name='Anna')
        self.receive('boris', 'Boris here, secret order', name='Boris')
        self.authenticate('pv_manager', 'pv_manager_pass')
        response = self.url_open('/omnichannel/privacy/export/%s' % anna.partner_id.id)
        self.assertEqual(response.status_code, 200)
        self.assertIn('attachment', response.headers['Content-Disposition'])
        data = response.json()
        self.assertEqual(data['customer']['id'], anna.partner_id.id)
        texts = [m['text'] for c in data['conversations'] for m in c['messages']]
        self.assertIn('My address is Lenina 5, flat 12', texts)
        self.assertIn('And my passport is 4510 123456', texts)
        self.assertNotIn('Boris', response.text, 'no other customer in the file')
        self.assertEqual(data['identities'][0]['provider_user_id'], 'anna')
        self.assertEqual(len(self.logs('export', anna.partner_id)), 1, 'the export is logged')

    def test_export_is_refused_to_a_salesperson(self):
        anna = self.receive('anna2', 'Hello', name='Anna')
        with self.assertRaises(AccessError):
            anna.partner_id.with_user(self.seller)._omnichannel_export_data()
        self.assertFalse(self.logs('export', anna.partner_id))

    # -- forget ----------------------------------------------------------------
    def test_forget_erases_content_and_keeps_anonymous_figures(self):
        conversation = self.receive('olga', 'I live at Tverskaya 1', name='Olga Ivanova', phone='+79125550022',
                                    email='olga@example.com')
        attachment = self.add_file(conversation)
        partner, lead = conversation.partner_id, conversation.lead_id
        self.Message.panel_send('crm.lead', lead.id, conversation.id, text='We will deliver on Monday')
        messages = self.Message.search([('conversation_id', '=', conversation.id)])
        self.assertEqual(len(messages), 2)
        with self.assertRaises(AccessError):
            partner.with_user(self.manager).action_omnichannel_forget()

        partner.with_user(self.admin).action_omnichannel_forget()
        self.env.invalidate_all()
        self.assertEqual(self.Message.search([('conversation_id', '=', conversation.id)]), messages,
                         'the messages stay as anonymous figures')
        self.assertEqual(set(messages.mapped('direction')), {'in', 'out'})
        for message in messages:
            self.assertFalse(message.body, 'text erased')
        self.assertFalse(attachment.exists(), 'files erased')
        identity = conversation.identity_id
        self.assertNotEqual(identity.provider_user_id, 'olga')
        self.assertFalse(identity.phone or identity.email or identity.username)
        self.assertNotIn('Olga', partner.name)
        self.assertFalse(partner.phone or partner.email)
        self.assertNotIn('Olga', lead.name)
        self.assertFalse(lead.email_from or lead.phone)
        journal = self.env['omnichannel.inbound.event'].sudo().search([('conversation_id', '=', conversation.id)])
        self.assertTrue(journal)
        self.assertNotIn('Tverskaya', ''.join(journal.mapped('payload')), 'the journal copy is erased')
        self.assertEqual(len(self.logs('forget', partner)), 1)
        # The report still counts the conversation's messages.
        report = self.env['omnichannel.report.response'].sudo()
        self.assertTrue(report.search_count([('conversation_id', '=', conversation.id)]))

        # The same person writing again is a new, unknown customer.
        again = self.receive('olga', 'Hello again', name='Olga')
        self.assertNotEqual(again.partner_id, partner)
        self.assertNotEqual(again.identity_id, identity)

    # -- retention -------------------------------------------------------------
    def age(self, conversation, days):
        past = fields.Datetime.now() - timedelta(days=days)
        self.env.cr.execute('UPDATE omnichannel_conversation SET create_date = %s, last_message_date = %s WHERE id = %s',
                            [past, past, conversation.id])
        self.env.invalidate_all()

    def test_retention_anonymizes_old_conversations_only(self):
        old = self.receive('old-customer', 'An order from long ago', name='Old')
        recent = self.receive('new-customer', 'An order of today', name='New')
        self.age(old, 300)
        Conversation = self.env['omnichannel.conversation']
        self.assertEqual(Conversation._cron_apply_retention(), 0, 'no policy: kept forever')
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('omnichannel_inbox.retention_months', '6')
        params.set_param('omnichannel_inbox.retention_action', 'anonymize')
        self.assertEqual(Conversation._cron_apply_retention(), 1)
        self.env.invalidate_all()
        self.assertTrue(old.privacy_erased_date)
        self.assertFalse(self.Message.search([('conversation_id', '=', old.id)]).body)
        self.assertFalse(recent.privacy_erased_date)
        self.assertIn('An order of today', self.Message.search([('conversation_id', '=', recent.id)]).body)
        self.assertEqual(Conversation._cron_apply_retention(), 0, 'done once')
        self.assertTrue(self.env['omnichannel.privacy.log'].sudo().search([('action', '=', 'retention_anonymize')]))

    def test_retention_purge_deletes_old_conversations(self):
        old = self.receive('purged-customer', 'Delete me one day', name='Gone')
        recent = self.receive('kept-customer', 'Keep me', name='Kept')
        self.age(old, 400)
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('omnichannel_inbox.retention_months', '12')
        params.set_param('omnichannel_inbox.retention_action', 'purge')
        self.env['omnichannel.conversation']._cron_apply_retention()
        self.assertFalse(old.exists())
        self.assertFalse(self.Message.search([('body', 'ilike', 'Delete me')]))
        self.assertTrue(recent.exists())

    # -- access log ------------------------------------------------------------
    def test_opening_a_conversation_is_logged_for_managers(self):
        conversation = self.receive('watched', 'Hello', name='Watched')
        conversation.sudo().user_id = self.seller
        conversation.lead_id.sudo().user_id = self.seller
        Log = self.env['omnichannel.access.log'].sudo()
        conversation.with_user(self.seller).web_read({'name': {}})
        conversation.with_user(self.seller).web_read({'name': {}})
        self.env['omnichannel.message'].with_user(self.seller).panel_fetch('crm.lead', conversation.lead_id.id)
        rows = Log.search([('conversation_id', '=', conversation.id)])
        self.assertEqual(rows.user_id, self.seller)
        self.assertEqual(len(rows), 1, 'one row per person and conversation within ten minutes')
        rows.date = fields.Datetime.now() - timedelta(minutes=30)
        self.env['omnichannel.message'].with_user(self.seller).panel_fetch('crm.lead', conversation.lead_id.id)
        self.assertEqual(len(Log.search([('conversation_id', '=', conversation.id)])), 2)
        self.assertEqual(Log.search([('conversation_id', '=', conversation.id)], limit=1).origin, 'panel')
        self.assertEqual(self.env['omnichannel.access.log'].with_user(self.manager).search_count(
            [('conversation_id', '=', conversation.id)]), 2)
        with self.assertRaises(AccessError):
            self.env['omnichannel.access.log'].with_user(self.seller).search([])
