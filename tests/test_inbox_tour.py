from odoo import Command
from odoo.tests import tagged

from .common import OmnichannelHttpCase


@tagged("post_install", "-at_install")
class TestInboxTour(OmnichannelHttpCase):
    """The unified inbox in a real browser."""

    def test_filter_open_reply_with_canned_response(self):
        admin = self.env.ref("base.user_admin")
        admin.name = "Olga Smirnova"
        # Who handles what is set below, not by the routing rules.
        self.env["omnichannel.routing.rule"].search([]).action_archive()
        team = self.env["crm.team"].create(
            {"name": "Chat team", "member_ids": [Command.link(admin.id)]}
        )
        channel = self._create_channel(
            "sandbox", name="Inbox tour chat", team_id=team.id
        )
        for session, name, text in (
            ("ivan", "Иван Петров", "Сколько стоят кресла?"),
            ("maria", "Maria Ivanova", "Нужен счёт"),
            ("visitor", "Unassigned Visitor", "Hello"),
        ):
            self._journal_and_process(
                channel, [self._sandbox_event(session, text, name=name)]
            )
        conversations = self.env["omnichannel.conversation"].search(
            [("channel_id", "=", channel.id)]
        )
        ivan = conversations.filtered(lambda c: c.partner_id.name == "Иван Петров")
        (
            ivan
            | conversations.filtered(lambda c: c.partner_id.name == "Maria Ivanova")
        ).user_id = admin
        canned = self.env["mail.canned.response"].create(
            {
                "source": "thanks",
                "substitution": (
                    "Спасибо, {first_name}! Я {salesperson}, пришлю цены сегодня."
                ),
                "omnichannel_team_ids": [Command.link(team.id)],
            }
        )

        self.start_tour(
            "/odoo/action-omnichannel_inbox.omnichannel_inbox_action",
            "omnichannel_inbox_tour",
            login="admin",
        )

        reply = ivan.omnichannel_message_ids.filtered(lambda m: m.direction == "out")
        self.assertEqual(len(reply), 1)
        self.assertIn(
            "Спасибо, Иван! Я Olga Smirnova, пришлю цены сегодня.", reply.body
        )
        self.assertEqual(reply.author_user_id, admin)
        self.assertEqual(ivan.state, "waiting")
        self.assertTrue(
            reply.is_first_response, "the reply is measured as the first response"
        )
        self.assertTrue(canned.last_used)
