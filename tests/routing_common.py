"""Shared setting of the routing, SLA, auto-reply, follow-up and handover
tests: a Moscow office open Monday-Friday 9:00-13:00 and 14:00-18:00, a
sales team (leader + three salespeople working those hours) and a Sandbox
channel account of that team.  Times are frozen; dates below are UTC
(Moscow is UTC+3)."""

import calendar
import itertools
from datetime import datetime

from odoo import Command
from odoo.tests import new_test_user
from odoo.tests.common import freeze_time

from odoo.addons.omnichannel_inbox import connectors

from .common import OmnichannelTransactionCase

WED_10 = datetime(2025, 3, 12, 7, 0)  # Wednesday 10:00 Moscow
WED_20 = datetime(2025, 3, 12, 17, 0)  # Wednesday 20:00 Moscow (closed)
FRI_1830 = datetime(2025, 3, 14, 15, 30)  # Friday 18:30 Moscow (closed)
MON_0905 = datetime(2025, 3, 17, 6, 5)  # Monday 9:05 Moscow

_counter = itertools.count(1)


class OwnerMixin:
    @classmethod
    def _setup_office(cls):
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Moscow office",
                "tz": "Europe/Moscow",
                "attendance_ids": [
                    Command.create(
                        {
                            "name": f"d{day}-{start}",
                            "dayofweek": str(day),
                            "hour_from": start,
                            "hour_to": end,
                            "day_period": "morning" if start < 12 else "afternoon",
                        }
                    )
                    for day in range(5)
                    for start, end in ((9, 13), (14, 18))
                ],
            }
        )
        cls.env.company.resource_calendar_id = cls.calendar
        users = {}
        for login in ("leader", "alice", "bob", "carol"):
            user = new_test_user(
                cls.env,
                login=f"o5_{login}",
                name=login.title(),
                tz="Europe/Moscow",
                email=f"{login}@example.com",
                groups="sales_team.group_sale_salesman",
            )
            user._omnichannel_resource().write(
                {"calendar_id": cls.calendar.id, "tz": "Europe/Moscow"}
            )
            users[login] = user
        cls.leader, cls.alice, cls.bob, cls.carol = (
            users[k] for k in ("leader", "alice", "bob", "carol")
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Chat sales",
                "user_id": cls.leader.id,
                "member_ids": [Command.set((cls.alice | cls.bob | cls.carol).ids)],
            }
        )
        cls.channel = cls._create_channel(
            "sandbox",
            name="Shop chat",
            team_id=cls.team.id,
            business_calendar_id=cls.calendar.id,
        )
        # Each test states its own routing table.
        cls.env["omnichannel.routing.rule"].search([]).action_archive()
        cls.env["omnichannel.sla.policy"].search([]).action_archive()

    def _rule(self, strategy, **vals):
        values = {
            "name": f"Rule {strategy}",
            "strategy": strategy,
            "team_id": self.team.id,
        }
        values.update(vals)
        return self.env["omnichannel.routing.rule"].create(values)

    def receive(self, session, text="Hello", at=WED_10, **contact):
        """The Sandbox customer ``session`` writes ``text`` at ``at`` (UTC).
        Their phone counts as vouched for, as WhatsApp or an SMS would: a
        known customer is recognised by it (routing, not identity, is tested)."""
        number = next(_counter)
        event = connectors.InboundMessage(
            event_id=f"o5-ev-{number}",
            message_id=f"o5-msg-{number}",
            sender=connectors.Contact(
                user_id=session,
                name=contact.get("name", f"Customer {session}"),
                phone=contact.get("phone", ""),
                email=contact.get("email", ""),
                phone_verified=bool(contact.get("phone")),
            ),
            chat_id=session,
            date=calendar.timegm(at.timetuple()),
            text=text,
        )
        with freeze_time(at):
            rows = self._journal_and_process(self.channel, [event])
        self.assertEqual(rows.state, "done", rows.error_message)
        return rows.conversation_id

    def reply(self, conversation, text, user, at):
        with freeze_time(at):
            return conversation.with_user(user)._post_reply(text, user=user)

    def log_texts(self, conversation):
        return "\n".join(conversation.message_ids.mapped("body"))


class OwnerCase(OwnerMixin, OmnichannelTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_office()
