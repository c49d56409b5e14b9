from datetime import timedelta

import pytz

from odoo import fields, models
from odoo.tools.misc import format_datetime


class OmnichannelChannel(models.Model):
    """Automatic replies of a channel account: an instant acknowledgement in
    business hours, an out-of-hours text saying when a person will answer,
    and optional first questions.  They are sent as automatic replies
    (author_kind 'auto'): they never count as a person's answer."""

    _inherit = "omnichannel.channel"

    autoreply_enabled = fields.Boolean(
        "Automatic replies",
        tracking=True,
        help="Answer a customer who starts writing at once, saying that a person will "
        "join.",
    )
    business_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Business hours",
        default=lambda self: self.env.company.resource_calendar_id,
        help="When the team answers. Outside it the out-of-hours reply is sent (when "
        "automatic replies are on), and calls are flagged, their call back due "
        "at the next opening.",
    )
    autoreply_ack_text = fields.Text(
        "Acknowledgement",
        translate=True,
        default=lambda self: self.env._(
            "Thank you for your message! A manager has received it and will join this "
            "chat in a few minutes."
        ),
    )
    autoreply_out_of_hours_text = fields.Text(
        "Out-of-hours reply",
        translate=True,
        default=lambda self: self.env._(
            "Thank you for your message! We are closed now; a manager will join this "
            "chat {answer_time}."
        ),
        help="{answer_time} is replaced by when the business hours start again, e.g. "
        '"on Monday at 09:00".',
    )
    autoreply_questions = fields.Text(
        "First questions",
        translate=True,
        help='Added to the first automatic reply of a new customer, e.g. "Meanwhile, '
        'tell us what you need and when it is convenient to call you."',
    )
    autoreply_silence_minutes = fields.Integer(
        "Reply again after a silence of (minutes)",
        default=60,
        help="A customer writing in an ongoing exchange is not answered "
        "automatically; one writing after this long a silence is.",
    )

    def _business_open_at(self, at):
        """True when ``at`` (naive UTC) is within the business hours."""
        self.ensure_one()
        calendar = self.business_calendar_id
        if not calendar:
            return True
        start = pytz.utc.localize(at)
        return bool(
            calendar._work_intervals_batch(start, start + timedelta(minutes=1))[False]
        )

    def _business_next_opening(self, at):
        """The next moment (naive UTC) the business hours start after ``at``."""
        self.ensure_one()
        calendar = self.business_calendar_id
        planned = calendar and calendar.plan_hours(
            0.0001, pytz.utc.localize(at), compute_leaves=True
        )
        if not planned:
            return at
        return planned.astimezone(pytz.utc).replace(
            tzinfo=None, second=0, microsecond=0
        )

    def _autoreply_text(self, conversation, message):
        """The automatic reply ``message`` (a customer's) calls for, or ''."""
        self.ensure_one()
        if not self.autoreply_enabled:
            return ""
        channel = self.with_context(lang=conversation.partner_id.lang or self.env.lang)
        at = message.date
        if channel._business_open_at(at):
            text = channel.autoreply_ack_text or ""
        else:
            opening = channel._business_next_opening(at)
            tz = channel.business_calendar_id.tz or "UTC"
            lang = conversation.partner_id.lang or self.env.lang or "en_US"
            local_opening = pytz.utc.localize(opening).astimezone(pytz.timezone(tz))
            pattern = (
                "EEEE, d MMMM, HH:mm"
                if local_opening.date()
                != pytz.utc.localize(at).astimezone(pytz.timezone(tz)).date()
                else "HH:mm"
            )
            answer_time = format_datetime(
                self.env, opening, tz=tz, dt_format=pattern, lang_code=lang
            )
            text = (channel.autoreply_out_of_hours_text or "").replace(
                "{answer_time}",
                channel.env._("after %(time)s (%(tz)s)", time=answer_time, tz=tz),
            )
        if channel.autoreply_questions and conversation._is_first_customer_message(
            message
        ):
            text = f"{text}\n\n{channel.autoreply_questions}"
        return text.strip()
