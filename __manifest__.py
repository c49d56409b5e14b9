{
    'name': 'Omnichannel Inbox',
    'version': '19.0.1.0.0',
    'summary': 'Telegram, Sandbox chat and more in one customer history inside CRM: '
               'leads created and linked, replies from the lead form',
    'description': """
Omnichannel Inbox
=================
Every message a customer sends - Telegram, the built-in Sandbox chat and the
other connected channels - lands in Odoo CRM as one history per customer:

* the customer is found or created (channel identity, phone in E.164, email),
* one conversation per channel account and customer, one open lead per customer,
* the salesperson reads the whole history and replies from the lead form,
  through the channel the customer wrote from,
* every accepted webhook event is journaled before it is processed, so nothing
  a customer sent is lost.
""",
    'category': 'Sales/CRM',
    'author': 'Omnichannel Inbox contributors',
    'website': 'https://github.com/omnichannel-inbox/omnichannel_inbox',
    'license': 'LGPL-3',
    'application': True,
    'sequence': 30,
    'depends': [
        'mail',
        'bus',
        'crm',
        'resource',
        'utm',
        'phone_validation',
        'sms_twilio',
        'im_livechat',
    ],
    'external_dependencies': {
        'python': ['python-telegram-bot', 'phonenumbers', 'requests'],
    },
    'data': [
        'security/omnichannel_security.xml',
        'security/ir.model.access.csv',
        'security/omnichannel_call_security.xml',
        'security/omnichannel_report_security.xml',
        'data/utm_data.xml',
        'data/ir_cron_data.xml',
        'data/ir_config_parameter_data.xml',
        'data/omnichannel_routing_data.xml',
        'views/omnichannel_channel_views.xml',
        'views/omnichannel_identity_views.xml',
        'views/omnichannel_conversation_views.xml',
        'views/omnichannel_message_views.xml',
        'views/omnichannel_inbound_event_views.xml',
        'views/crm_lead_views.xml',
        'views/res_partner_views.xml',
        'views/res_config_settings_views.xml',
        'views/omnichannel_sandbox_templates.xml',
        'views/omnichannel_inbox_views.xml',
        'views/omnichannel_menus.xml',
        'views/omnichannel_routing_rule_views.xml',
        'views/omnichannel_owner_views.xml',
        'data/omnichannel_call_data.xml',
        'views/omnichannel_call_views.xml',
        'data/omnichannel_channels_data.xml',
        'views/omnichannel_channel_odoo_channels_views.xml',
        'views/omnichannel_website_templates.xml',
        'views/omnichannel_channel_meta_views.xml',
        'views/omnichannel_whatsapp_template_views.xml',
        'views/omnichannel_report_views.xml',
        'views/omnichannel_journal_views.xml',
        'data/omnichannel_privacy_data.xml',
        'views/omnichannel_privacy_views.xml',
        'security/omnichannel_alert_security.xml',
        'views/omnichannel_alert_views.xml',
    ],
    'demo': [
        'data/omnichannel_demo.xml',
        'data/omnichannel_routing_demo.xml',
        'data/omnichannel_call_demo.xml',
        'data/omnichannel_channels_demo.xml',
        'data/omnichannel_report_demo.xml',
    ],
    'assets': {
        'web.assets_backend': [
            'omnichannel_inbox/static/src/chat_panel/**/*',
            'omnichannel_inbox/static/src/canned_response/**/*',
            'omnichannel_inbox/static/src/inbox/**/*',
            'omnichannel_inbox/static/src/dashboard/**/*',
        ],
        'web.assets_tests': [
            'omnichannel_inbox/static/tests/tours/**/*',
        ],
    },
    'installable': True,
}
