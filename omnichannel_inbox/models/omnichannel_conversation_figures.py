from odoo import fields, models

from .omnichannel_message_figures import SLA_STATUSES


class OmnichannelConversation(models.Model):
    """Response figures, stored when a person's answer ends a customer's
    wait: every outbound message goes through :meth:`_register_outbound`,
    calls through ``omnichannel.call._register_employee_contact`` (definitions
    in README, "Reports")."""

    _inherit = "omnichannel.conversation"

    first_response_seconds = fields.Integer(
        "First response time (seconds)",
        readonly=True,
        aggregator="avg",
        help="Calendar time from the first customer message to the first reply of a "
        "person. "
        "Automatic replies do not count.",
    )
    first_response_business_seconds = fields.Integer(
        "First response time in business hours (seconds)",
        readonly=True,
        aggregator="avg",
        help="The same wait counted only inside the working hours of the team (or "
        "company) calendar.",
    )
    first_response_sla_status = fields.Selection(
        SLA_STATUSES,
        "First response SLA",
        readonly=True,
        help='Whether the first reply of a person came before the "Answer before" '
        "deadline that applied.",
    )

    # The conversation report is read by period of the first message, and
    # looks up each customer's first conversation (channel switching).
    _first_message_date_idx = models.Index(
        "(first_customer_message_date) WHERE first_customer_message_date IS NOT NULL"
    )
    _partner_first_message_idx = models.Index(
        "(partner_id, first_customer_message_date, id)"
    )

    def _wait_state(self):
        """What the current wait is: read before a person's answer clears it."""
        self.ensure_one()
        return {
            "waiting_since": self.waiting_since,
            "sla_deadline": self.sla_deadline,
            "first_response_date": self.first_response_date,
            "first_customer_message_date": self.first_customer_message_date,
        }

    def _register_outbound(self, message):
        # The wait this message may end, read before the bookkeeping clears it.
        wait = self._wait_state()
        super()._register_outbound(message)
        if message.author_kind == "employee":
            # Answered on another of the customer's conversations ("answered
            # elsewhere"): this conversation's first response, not the message's.
            own = message if message.conversation_id == self else None
            self._register_response(own, message.author_user_id, message.date, wait)

    def _register_response(self, message, user, end, wait):
        """Store the figures of an answer of ``user`` at ``end``, which ended
        the wait described by ``wait`` (:meth:`_wait_state` read before the
        answer's bookkeeping): on ``message`` (the reply or the call's entry;
        None when the answer was given in another conversation) and, for the
        first one, on the conversation.  An answer when nobody waits (a
        second message in a row) gets no response time."""
        self.ensure_one()
        vals = {}
        start = wait["waiting_since"]
        if start:
            vals.update(
                self._response_durations(start, end),
                response_from=start,
                response_user_id=user.id,
            )
            if wait["sla_deadline"]:
                vals["response_sla_status"] = (
                    "met" if end <= wait["sla_deadline"] else "breached"
                )
        if not wait["first_response_date"] and wait["first_customer_message_date"]:
            vals["is_first_response"] = True
            first = self._response_durations(wait["first_customer_message_date"], end)
            self.sudo().write(
                {
                    "first_response_seconds": first["response_seconds"],
                    "first_response_business_seconds": first[
                        "response_business_seconds"
                    ],
                    "first_response_sla_status": vals.get("response_sla_status", False),
                }
            )
        if vals and message:
            message.sudo().write(vals)

    def _response_durations(self, start, end):
        end = max(start, end)  # providers' clocks may run ahead of ours
        return {
            "response_seconds": int((end - start).total_seconds()),
            "response_business_seconds": self._business_seconds(start, end),
        }

    def _business_calendar(self):
        """Working hours the business-time figures are counted in: the
        business hours of the channel account (those its automatic replies
        follow), else the company's."""
        self.ensure_one()
        return (
            self.channel_id.business_calendar_id
            or self.company_id.resource_calendar_id
            or self.env.company.resource_calendar_id
        )

    def _business_seconds(self, start, end):
        """Seconds of ``start``..``end`` (naive UTC) inside working hours,
        public holidays (global leaves) excluded."""
        calendar = self._business_calendar()
        if not calendar:
            return int((end - start).total_seconds())
        return int(
            round(calendar.get_work_hours_count(start, end, compute_leaves=True) * 3600)
        )


class OmnichannelCall(models.Model):
    """A call in which a person spoke with the customer answers their wait,
    as a reply does: its response figures are stored on the call's entry."""

    _inherit = "omnichannel.call"

    def _register_employee_contact(self, date):
        conversation = self.conversation_id.sudo()
        wait = conversation._wait_state() if conversation else None
        result = super()._register_employee_contact(date)
        if (
            wait
            and wait["waiting_since"]
            and not conversation.waiting_since
            and self.message_id
        ):
            conversation._register_response(self.message_id, self.user_id, date, wait)
        return result
