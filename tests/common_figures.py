"""A sales team, salespeople, working hours and helpers to play a timeline
of customer messages and replies at fixed dates."""

from freezegun import freeze_time

from odoo import Command
from odoo.tests import new_test_user

from .common import OmnichannelTransactionCase


class OmnichannelFiguresCase(OmnichannelTransactionCase):
    """A Sandbox channel of a sales team, a salesperson, and working hours
    Monday to Friday 09:00-18:00 Moscow time (UTC+3)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Moscow office",
                "tz": "Europe/Moscow",
                "attendance_ids": [Command.clear()]
                + [
                    Command.create(
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 9,
                            "hour_to": 18,
                            "day_period": "full_day",
                        }
                    )
                    for day in range(5)
                ],
            }
        )
        cls.env.company.resource_calendar_id = cls.calendar
        cls.salesman = new_test_user(
            cls.env,
            "figures_salesman",
            groups="omnichannel_inbox.group_omnichannel_user",
            name="Olga Smirnova",
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Messengers", "member_ids": [Command.link(cls.salesman.id)]}
        )
        cls.channel = cls._create_channel(
            "sandbox", name="Site chat", team_id=cls.team.id
        )
        cls._event_seq = 0
        # Each test says who handles what and which deadline applies.
        cls.env["omnichannel.routing.rule"].search([]).action_archive()
        cls.env["omnichannel.sla.policy"].search([]).action_archive()

    def customer_says(
        self, when, text="Hello", session="cust-1", channel=None, **contact
    ):
        """The customer writes at ``when`` (UTC), as the provider reports it."""
        type(self)._event_seq += 1
        with freeze_time(when):
            event = self._sandbox_event(
                session,
                text,
                event_id=f"figures-{session}-{self._event_seq}",
                **contact,
            )
            self._journal_and_process(channel or self.channel, [event])
        return self.env["omnichannel.conversation"].search(
            [
                ("channel_id", "=", (channel or self.channel).id),
                ("identity_id.provider_user_id", "=", session),
            ]
        )

    def reply(
        self, conversation, when, text="Answer", user=None, author_kind="employee"
    ):
        with freeze_time(when):
            if author_kind == "auto":
                return conversation.sudo()._post_reply(text, author_kind="auto")
            user = user or self.salesman
            return conversation.with_user(user)._post_reply(text, user=user)

    def known_customer_says(
        self, channel, partner, when, text="Hello", session="known"
    ):
        """``partner`` writes on ``channel`` through an identity already
        linked to them (how a channel whose connector matches customers by
        email or phone hands over its messages)."""
        type(self)._event_seq += 1
        identity = (
            self.env["omnichannel.identity"]
            .sudo()
            .create(
                {
                    "channel_id": channel.id,
                    "provider_user_id": session,
                    "name": partner.name,
                    "partner_id": partner.id,
                }
            )
        )
        conversation = self.env["omnichannel.conversation"]._get_for_identity(
            channel, identity
        )
        with freeze_time(when):
            conversation._receive_message(
                self._sandbox_event(
                    session,
                    text,
                    event_id=f"figures-{session}-{self._event_seq}",
                )
            )
        return conversation
