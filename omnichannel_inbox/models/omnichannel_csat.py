"""Customer satisfaction (CSAT): a one-question survey sent on the channel
the customer wrote from when a conversation is closed or their lead is won or
lost; the answer (a typed 1-5, a button, or Odoo's rating page) is stored on
the conversation, the lead and, through the reports, the salesperson.

The survey is an ordinary automatic reply (``_post_reply``): it goes through
the same outbound path, messaging windows and retries as any other message.
Answers are kept as ``rating.rating`` records (the rating module extends
every mail.thread), so Odoo's /rate/<token>/<score> page works as is."""

import re
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext

CSAT_MODES = [
    ("never", "Never"),
    ("closed", "When the conversation is closed"),
    ("won_lost", "When the lead is won or lost"),
]
#: The scores a customer can give, as the buttons show them.
CSAT_CHOICES = ("1", "2", "3", "4", "5")
#: A typed answer: one digit 1-5, optionally with a star or a full stop
#: around it ("5", "5!", "⭐5").  Anything longer is a message, not a score.
_ANSWER = re.compile(r"^\W{0,2}([1-5])\W{0,2}$")


class CrmTeam(models.Model):
    _inherit = "crm.team"

    omnichannel_csat_mode = fields.Selection(
        CSAT_MODES,
        string="Satisfaction survey",
        default="never",
        required=True,
        help="When the customers of this team get a one-question satisfaction survey "
        "(1-5) on their channel. "
        "A channel account can override it.",
    )
    omnichannel_csat_days = fields.Integer(
        "Survey at most every (days)",
        default=30,
        help="A customer is asked at most once in this many days, "
        "whatever the channel.",
    )
    omnichannel_csat_low_score = fields.Integer(
        "Unhappy score",
        default=2,
        help="A score at or below this creates a call-back activity for the team "
        "leader.",
    )


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    csat_mode = fields.Selection(
        [("team", "As the team's setting")] + CSAT_MODES,
        string="Satisfaction survey",
        default="team",
        required=True,
        help="Send a one-question satisfaction survey: never, when a conversation is "
        "closed, or when the lead is "
        'won or lost.  "As the team\'s setting" follows the sales team of the '
        "conversation.",
    )


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    csat_survey = fields.Boolean(
        "Satisfaction survey",
        readonly=True,
        help="This message asked the customer for a 1-5 score; providers with buttons "
        "show them.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get("omnichannel_csat_survey"):
            for vals in vals_list:
                if vals.get("direction") == "out":
                    vals["csat_survey"] = True
        return super().create(vals_list)

    def _outbound_payload(self):
        payload = super()._outbound_payload()
        if self.csat_survey:
            # Kept on the message, so a retry by the cron shows the buttons too.
            payload.choices = list(CSAT_CHOICES)
        return payload


class OmnichannelConversation(models.Model):
    # Odoo's rating module gives every mail.thread its ratings, tokens and
    # rating_apply (rating.mixin only adds statistics we keep in the reports).
    _inherit = "omnichannel.conversation"

    csat_sent_date = fields.Datetime(
        "Survey sent", readonly=True, index="btree_not_null", copy=False
    )
    csat_trigger = fields.Selection(
        [("closed", "Conversation closed"), ("won_lost", "Lead won or lost")],
        "Survey sent when",
        readonly=True,
        copy=False,
    )
    csat_lead_id = fields.Many2one(
        "crm.lead",
        "Surveyed lead",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The lead the survey was about: the answer is stored on it.",
    )
    csat_score = fields.Integer(
        "Satisfaction",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="The customer's answer to the satisfaction survey, 1 (bad) to 5 "
        "(excellent).",
    )
    csat_date = fields.Datetime("Satisfaction answered", readonly=True, copy=False)

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------
    def write(self, vals):
        closing = self.browse()
        if vals.get("state") == "closed" and not self.env.context.get(
            "omnichannel_csat_answer"
        ):
            closing = self.filtered(lambda c: c.state != "closed")
        result = super().write(vals)
        for conversation in closing:
            conversation._csat_send("closed")
        return result

    def _csat_mode(self):
        self.ensure_one()
        mode = self.channel_id.csat_mode
        if mode == "team":
            mode = (
                self.team_id or self.channel_id.team_id
            ).omnichannel_csat_mode or "never"
        return mode

    def _csat_team(self):
        return self.team_id or self.channel_id.team_id or self.lead_id.team_id

    def _csat_refusal(self, trigger):
        """Why no survey goes now (a translated sentence), or ''."""
        self.ensure_one()
        if (
            self._csat_mode() != trigger
            # where a text reply cannot reach the customer (calls, forms)
            or not self.channel_id.supports_survey
        ):
            return "off"
        if not self.first_customer_message_date:
            return "off"
        days = max(self._csat_team().omnichannel_csat_days or 30, 1)
        since = fields.Datetime.now() - timedelta(days=days)
        if self.sudo().search_count(
            [("partner_id", "=", self.partner_id.id), ("csat_sent_date", ">=", since)],
            limit=1,
        ):
            return self.env._(
                "the customer was already asked in the last %s days", days
            )
        try:
            self.channel_id._check_reply_allowed(self)
        except UserError as exc:
            return str(exc.args[0] if exc.args else exc)
        return ""

    def _csat_send(self, trigger, lead=None):
        """Send the survey if this conversation's settings ask for it now;
        returns the outbound message or None.  Never raises: closing a
        conversation or winning a lead must not fail because of a survey."""
        self.ensure_one()
        conversation = self.sudo()
        refusal = conversation._csat_refusal(trigger)
        if refusal:
            if refusal != "off":
                conversation._message_log(
                    body=self.env._("Satisfaction survey not sent: %s.", refusal)
                )
            return None
        lead = lead or conversation.lead_id
        token = conversation._rating_get_access_token(conversation.partner_id)
        url = "{}/rate/{}/5".format(conversation.get_base_url().rstrip("/"), token)
        lang = conversation.partner_id.lang or self.env.lang
        text = self.with_context(lang=lang).env._(
            "How satisfied are you with our help? Reply with a number from 1 (bad) to "
            "5 (excellent), "
            "or rate us here: %s",
            url,
        )
        conversation.write(
            {
                "csat_sent_date": fields.Datetime.now(),
                "csat_trigger": trigger,
                "csat_lead_id": lead.id if lead else False,
                "csat_score": 0,
                "csat_date": False,
            }
        )
        try:
            return conversation.with_context(omnichannel_csat_survey=True)._post_reply(
                text, author_kind="auto"
            )
        except UserError as exc:
            conversation._message_log(
                body=self.env._(
                    "Satisfaction survey not sent: %s.",
                    exc.args[0] if exc.args else exc,
                )
            )
            return None

    # ------------------------------------------------------------------
    # Answers
    # ------------------------------------------------------------------
    def _csat_pending(self):
        """The survey waits for an answer (one answer per survey, within the period)."""
        self.ensure_one()
        if not self.csat_sent_date or self.csat_date:
            return False
        days = max(self._csat_team().omnichannel_csat_days or 30, 1)
        return fields.Datetime.now() - self.csat_sent_date <= timedelta(days=days)

    def _register_inbound(self, message):
        """A "1".."5" (typed or a button) right after a survey is its answer,
        not a new request: it is stored as the score and reopens nothing
        (no new lead after a won one, no wait, no SLA, no routing)."""
        score = self._csat_pending() and self._csat_parse(message)
        if not score:
            return super()._register_inbound(message)
        self.with_context(omnichannel_csat_answer=True).sudo().write(
            {
                "last_speaker": "customer",
                "last_customer_message_date": max(
                    message.date, self.last_customer_message_date or message.date
                ),
                "last_message_date": max(
                    message.date, self.last_message_date or message.date
                ),
            }
        )
        if self.csat_lead_id and message.lead_id != self.csat_lead_id:
            message.lead_id = self.csat_lead_id
        self._csat_apply(score)
        self._notify_panel()
        return None

    @staticmethod
    def _csat_parse(message):
        match = _ANSWER.match(html2plaintext(message.body or "").strip())
        return int(match.group(1)) if match else 0

    def rating_apply(
        self,
        rate,
        token=None,
        rating=None,
        feedback=None,
        subtype_xmlid=None,
        notify_delay_send=False,
    ):
        # The rating page (/rate/<token>/...) lands here, as do typed answers.
        rating = super().rating_apply(
            rate,
            token=token,
            rating=rating,
            feedback=feedback,
            subtype_xmlid=subtype_xmlid,
            notify_delay_send=notify_delay_send,
        )
        if not self.env.context.get("omnichannel_csat_answer"):
            self._csat_store(int(round(rate)))
        return rating

    def _csat_apply(self, score):
        """Store a typed or button answer through Odoo's rating (consuming
        the survey's token, so the page link cannot add a second answer)."""
        self.ensure_one()
        conversation = self.sudo().with_context(omnichannel_csat_answer=True)
        rating = conversation.rating_ids.filtered(
            lambda r: not r.consumed and r.partner_id == self.partner_id
        )[:1]
        if rating:
            conversation.rating_apply(score, rating=rating)
        self._csat_store(score)

    def _csat_store(self, score):
        self.ensure_one()
        if not 1 <= score <= 5:
            return
        conversation = self.sudo()
        was_answered = bool(conversation.csat_date)
        conversation.write({"csat_score": score, "csat_date": fields.Datetime.now()})
        lead = conversation.csat_lead_id or conversation.lead_id
        if lead:
            lead.sudo().write({"omnichannel_csat_score": score})
        low = conversation._csat_team().omnichannel_csat_low_score or 2
        if score <= low and not was_answered:
            conversation._csat_unhappy(score, lead)

    def _csat_unhappy(self, score, lead):
        """A call-back activity for the team leader (the salesperson when the
        team has no leader), on the lead - or the customer without one."""
        team = self._csat_team()
        user = team.user_id or self.user_id or lead.user_id
        # The customer's answer comes by webhook: in the reader's language.
        self = self.with_context(lang=self._reader_lang(user or None))
        if not user:
            self._message_log(
                body=self.env._(
                    "Unhappy customer (score %s): no team leader to call them back.",
                    score,
                )
            )
            return
        record = lead or self.partner_id
        record.sudo().activity_schedule(
            "mail.mail_activity_data_call",
            user_id=user.id,
            summary=self.env._("Unhappy customer — call back"),
            note=self.env._(
                "%(customer)s rated %(channel)s %(score)s/5 (salesperson: %(user)s).",
                customer=self.partner_id.name,
                channel=self.channel_id.name,
                score=score,
                user=self.user_id.name or "-",
            ),
        )


class CrmLead(models.Model):
    _inherit = "crm.lead"

    omnichannel_csat_score = fields.Integer(
        "Satisfaction",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="The customer's last answer (1-5) to a satisfaction survey about this "
        "lead.",
    )

    def write(self, vals):
        pending = self.browse()
        if {"stage_id", "probability", "active"} & set(vals):
            pending = self.filtered(lambda lead: lead.won_status == "pending")
        result = super().write(vals)
        for lead in pending.filtered(lambda lead: lead.won_status in ("won", "lost")):
            conversation = (
                self.env["omnichannel.conversation"]
                .sudo()
                .search(
                    [
                        ("lead_id", "=", lead.id),
                        ("first_customer_message_date", "!=", False),
                    ],
                    order="last_customer_message_date desc, id desc",
                    limit=1,
                )
            )
            if conversation:
                conversation._csat_send("won_lost", lead=lead)
        return result


class OmnichannelMessagePanel(models.Model):
    _inherit = "omnichannel.message"

    @api.model
    def _panel_reply_targets(self, res_model, record, partners):
        """Each conversation also carries the customer's last satisfaction
        score, shown in the chat panel."""
        result = super()._panel_reply_targets(res_model, record, partners)
        Conversation = self.env["omnichannel.conversation"].sudo()
        for values in result["conversations"]:
            conversation = (
                Conversation.browse(values["id"]).exists()
                if values["id"] > 0
                else Conversation
            )
            values["csat_score"] = conversation.csat_score or 0
        return result
