from datetime import timedelta
from textwrap import shorten

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import html2plaintext

from ..services.text_similarity import find_phrases, normalize, similarity
from .cron_progress import commit_progress, in_scheduler

QUALITY_CHECKS = [
    ("greeting", "Greeting in the first answer"),
    ("name", "Customer's name used"),
    ("next_step", "Question or next step proposed"),
    ("forbidden", "No forbidden phrase"),
    ("sla", "Answered within the SLA"),
    ("length", "Reply length"),
]
PHRASE_KINDS = [
    ("greeting", "Greeting"),
    ("next_step", "Question or next step"),
    ("forbidden", "Forbidden phrase"),
]


#: Conversations scored (checklist + repeat) per transaction of the cron.
QUALITY_BATCH = 50


class OmnichannelQualityPhrase(models.Model):
    """A phrase the quality checks look for in salespeople's replies.  The
    shipped lists (Russian and English) apply to every team; a team adds its
    own.  Matching is on whole words, case-insensitive, ``ё`` read as ``е``."""

    _name = "omnichannel.quality.phrase"
    _description = "Quality checklist phrase"
    _order = "kind, lang, phrase"
    _rec_name = "phrase"

    phrase = fields.Char(required=True, translate=False)
    kind = fields.Selection(PHRASE_KINDS, required=True, index=True)
    lang = fields.Selection(
        [("ru", "Russian"), ("en", "English"), ("other", "Other")],
        "Language",
        default="ru",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales team",
        index="btree_not_null",
        ondelete="cascade",
        help="Empty: the phrase applies to every team.",
    )
    active = fields.Boolean(default=True)

    @api.model
    def _for_team(self, team):
        phrases = self.sudo().search(
            ["|", ("team_id", "=", False), ("team_id", "=", team.id)]
        )
        return {
            kind: phrases.filtered(lambda p, k=kind: p.kind == k).mapped("phrase")
            for kind, _label in PHRASE_KINDS
        }


class OmnichannelQualityReview(models.Model):
    """The checklist of one closed conversation: the salesperson's replies
    checked against the team's list, each check passed or failed with why
    and which messages.  Scored by a cron after the conversation closes
    (never on the reply path); a supervisor may override the score."""

    _name = "omnichannel.quality.review"
    _description = "Conversation quality review"
    _order = "date desc, id desc"
    _rec_name = "conversation_id"

    conversation_id = fields.Many2one(
        "omnichannel.conversation",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True, index=True)
    team_id = fields.Many2one("crm.team", "Sales team", readonly=True, index=True)
    channel_id = fields.Many2one(
        "omnichannel.channel", "Channel account", readonly=True
    )
    channel_type = fields.Selection(related="channel_id.channel_type", store=True)
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    date = fields.Datetime("Scored on", readonly=True, index=True)
    line_ids = fields.One2many(
        "omnichannel.quality.review.line", "review_id", "Checks", readonly=True
    )
    check_count = fields.Integer("Applicable checks", readonly=True, aggregator="sum")
    failed_count = fields.Integer("Failed checks", readonly=True, aggregator="sum")
    auto_score = fields.Float(
        "Checklist score",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Share of the applicable checks passed, in percent.",
    )
    override_score = fields.Float("Supervisor score", digits=(16, 1), aggregator="avg")
    override_comment = fields.Text("Supervisor comment")
    override_user_id = fields.Many2one("res.users", "Reviewed by", readonly=True)
    override_date = fields.Datetime("Reviewed on", readonly=True)
    is_overridden = fields.Boolean("Overridden", readonly=True)
    score = fields.Float(
        "Score",
        compute="_compute_score",
        store=True,
        aggregator="avg",
        digits=(16, 1),
        help="The supervisor score when one was given, else the checklist score.",
    )
    failed_checks = fields.Char("Failed", compute="_compute_failed_checks", store=True)

    _conversation_unique = models.Constraint(
        "UNIQUE(conversation_id)", "One review per conversation."
    )

    @api.depends("auto_score", "override_score", "is_overridden")
    def _compute_score(self):
        for review in self:
            review.score = (
                review.override_score if review.is_overridden else review.auto_score
            )

    @api.depends("line_ids.result")
    def _compute_failed_checks(self):
        labels = dict(
            self.env["omnichannel.quality.review.line"]
            ._fields["check"]
            ._description_selection(self.env)
        )
        for review in self:
            review.failed_checks = ", ".join(
                labels[line.check]
                for line in review.line_ids
                if line.result == "failed"
            )

    def write(self, vals):
        # Overriding is a supervisor's decision: a salesperson never edits
        # the review of their own conversations (the access rights already
        # refuse them; this keeps it so for anyone given write access later).
        if not self.env.su and not self.env.user.has_group(
            "omnichannel_inbox.group_omnichannel_team_leader"
        ):
            raise AccessError(
                self.env._(
                    "Only team leaders and managers may review a quality checklist."
                )
            )
        if {"override_score", "override_comment"} & set(vals) and not self.env.su:
            vals = dict(
                vals,
                is_overridden=True,
                override_user_id=self.env.uid,
                override_date=fields.Datetime.now(),
            )
        return super().write(vals)

    def action_override(self, score, comment):
        """Set the supervisor's score with the comment that says why."""
        if not (comment or "").strip():
            raise UserError(self.env._("Say why the score is overridden."))
        return self.write({"override_score": score, "override_comment": comment})

    def action_clear_override(self):
        return self.write(
            {
                "is_overridden": False,
                "override_score": 0.0,
                "override_comment": False,
                "override_user_id": False,
                "override_date": False,
            }
        )

    def action_open_conversation(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.conversation",
            "res_id": self.conversation_id.id,
            "view_mode": "form",
        }


class OmnichannelQualityReviewLine(models.Model):
    _name = "omnichannel.quality.review.line"
    _description = "Quality check result"
    _order = "review_id, sequence, id"

    review_id = fields.Many2one(
        "omnichannel.quality.review", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer()
    check = fields.Selection(QUALITY_CHECKS, required=True)
    result = fields.Selection(
        [("passed", "Passed"), ("failed", "Failed"), ("na", "Not applicable")],
        required=True,
    )
    explanation = fields.Char(required=True)
    message_ids = fields.Many2many("omnichannel.message", string="Messages concerned")
    message_text = fields.Text(
        "Messages",
        compute="_compute_message_text",
        help="The messages concerned, as the customer read them.",
    )

    def _compute_message_text(self):
        for line in self:
            line.message_text = "\n".join(
                "{} — {}".format(
                    fields.Datetime.context_timestamp(line, message.date).strftime(
                        "%d.%m %H:%M"
                    )
                    if message.date
                    else "",
                    shorten(
                        html2plaintext(message.sudo().body or "").replace("\n", " "),
                        80,
                        placeholder="…",
                    ),
                )
                for message in line.message_ids
            )


class OmnichannelConversationQuality(models.Model):
    """Closing a conversation queues its checklist; the cron scores it and
    detects repeat requests."""

    _inherit = "omnichannel.conversation"

    quality_due = fields.Boolean(
        "Checklist to score", readonly=True, index="btree_not_null", copy=False
    )
    quality_review_id = fields.Many2one(
        "omnichannel.quality.review",
        "Quality review",
        compute="_compute_quality_review",
    )

    def _compute_quality_review(self):
        reviews = {
            r.conversation_id.id: r
            for r in self.env["omnichannel.quality.review"].search(
                [("conversation_id", "in", self.ids)]
            )
        }
        for conversation in self:
            conversation.quality_review_id = reviews.get(conversation.id, False)

    def write(self, vals):
        closing = self.browse()
        if vals.get("state") == "closed":
            closing = self.filtered(lambda c: c.state != "closed")
        result = super().write(vals)
        if closing:
            # background only: the one who closes waits for nothing
            super(OmnichannelConversationQuality, closing.sudo()).write(
                {"quality_due": True}
            )
            self.env.ref(
                "omnichannel_inbox.ir_cron_omnichannel_quality"
            ).sudo()._trigger()
        return result

    # ------------------------------------------------------------------
    # Scoring
    # ------------------------------------------------------------------
    def _quality_messages(self):
        return (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "out"),
                    ("author_kind", "=", "employee"),
                ],
                order="date, id",
            )
        )

    def _quality_customer_names(self):
        """The customer's first name as a salesperson would use it, and its
        stem (Russian names decline: Анна, Анне, Анну)."""
        conversation = self.sudo()
        names = set()
        for full in (
            conversation.lead_id.contact_name,
            conversation.partner_id.name,
            conversation.identity_id.name,
        ):
            words = (full or "").split()
            if words and not any(ch.isdigit() for ch in words[0]):
                names.add(words[0].lower().replace("ё", "е"))
        return names

    def _quality_checks(self):
        """``[(check, result, explanation, messages)]`` of this conversation:
        each check the team enables (all without a team), in the order of
        QUALITY_CHECKS."""
        self.ensure_one()
        team = self.sudo().team_id
        messages = self._quality_messages()
        texts = {m: html2plaintext(m.body or "").strip() for m in messages}
        phrases = self.env["omnichannel.quality.phrase"]._for_team(team)
        return [
            getattr(self, f"_quality_check_{check}")(messages, texts, phrases)
            for check, _label in QUALITY_CHECKS
            if not team or team[f"omnichannel_quality_check_{check}"]
        ]

    def _quality_check_greeting(self, messages, texts, phrases):
        """One line of :meth:`_quality_checks`: the "greeting" check."""
        _ = self.env._
        first = messages[:1]
        if find_phrases(texts[first], phrases["greeting"]):
            return (
                "greeting",
                "passed",
                _("The first answer greets the customer."),
                first,
            )
        else:
            return (
                "greeting",
                "failed",
                _("The first answer has no greeting: “%s”.", texts[first][:80]),
                first,
            )

    def _quality_check_name(self, messages, texts, phrases):
        """One line of :meth:`_quality_checks`: the "name" check."""
        _ = self.env._
        Message = self.env["omnichannel.message"]
        names = self._quality_customer_names()
        stems = {n[:-1] if len(n) > 3 else n for n in names}
        used = Message
        for message, text in texts.items():
            words = set(normalize(text).split())
            if words & names or any(
                w.startswith(stem) for w in words for stem in stems if len(stem) > 2
            ):
                used |= message
        if used:
            return ("name", "passed", _("The customer is called by name."), used[:1])
        elif not names:
            return ("name", "na", _("The customer has no known name."), Message)
        else:
            shown = ", ".join(sorted(n.capitalize() for n in names))
            return (
                "name",
                "failed",
                _("No reply uses the customer's name (%s).", shown),
                messages,
            )

    def _quality_check_next_step(self, messages, texts, phrases):
        """One line of :meth:`_quality_checks`: the "next_step" check."""
        _ = self.env._
        Message = self.env["omnichannel.message"]
        asking = Message.concat(
            *[
                m
                for m, text in texts.items()
                if find_phrases(text, phrases["next_step"])
            ]
        )
        if asking:
            return (
                "next_step",
                "passed",
                _("A question or a next step is proposed."),
                asking[:1],
            )
        else:
            return (
                "next_step",
                "failed",
                _("No reply asks a question or proposes a next step."),
                messages[-1:],
            )

    def _quality_check_forbidden(self, messages, texts, phrases):
        """One line of :meth:`_quality_checks`: the "forbidden" check."""
        _ = self.env._
        Message = self.env["omnichannel.message"]
        bad = {m: find_phrases(text, phrases["forbidden"]) for m, text in texts.items()}
        bad = {m: found for m, found in bad.items() if found}
        if bad:
            said = sorted({phrase for found in bad.values() for phrase in found})
            quoted = ", ".join(f"“{phrase}”" for phrase in said)
            return (
                "forbidden",
                "failed",
                _("Forbidden phrase used: %s.", quoted),
                Message.concat(*bad),
            )
        else:
            return ("forbidden", "passed", _("No forbidden phrase."), Message)

    def _quality_check_sla(self, messages, texts, phrases):
        """One line of :meth:`_quality_checks`: the "sla" check."""
        conversation = self.sudo()
        _ = self.env._
        Message = self.env["omnichannel.message"]
        first = messages[:1]
        late = messages.filtered(lambda m: m.response_sla_status == "breached")
        measured = (
            messages.filtered("response_sla_status")
            or conversation.first_response_sla_status
        )
        if late or conversation.first_response_sla_status == "breached":
            return (
                "sla",
                "failed",
                _(
                    "%s answer(s) came after the response-time target.",
                    len(late) or 1,
                ),
                late or first,
            )
        elif measured:
            return (
                "sla",
                "passed",
                _("Every answer came within the response-time target."),
                Message,
            )
        else:
            return ("sla", "na", _("No response-time target applied."), Message)

    def _quality_check_length(self, messages, texts, phrases):
        """One line of :meth:`_quality_checks`: the "length" check."""
        conversation = self.sudo()
        team = conversation.team_id
        _ = self.env._
        Message = self.env["omnichannel.message"]
        low = team.omnichannel_reply_min_length if team else 2
        high = team.omnichannel_reply_max_length if team else 1000
        short = messages.filtered(
            lambda m: len(texts[m]) < low and not m.attachment_ids
        )
        long_ = messages.filtered(lambda m: high and len(texts[m]) > high)
        if short or long_:
            parts = []
            if short:
                parts.append(
                    _(
                        "%(count)s reply(ies) shorter than %(min)s characters",
                        count=len(short),
                        min=low,
                    )
                )
            if long_:
                parts.append(
                    _(
                        "%(count)s reply(ies) longer than %(max)s characters",
                        count=len(long_),
                        max=high,
                    )
                )
            return ("length", "failed", "; ".join(parts) + ".", short | long_)
        else:
            return (
                "length",
                "passed",
                _(
                    "Every reply is between %(min)s and %(max)s characters.",
                    min=low,
                    max=high,
                ),
                Message,
            )

    def _quality_score(self):
        """Create or refresh the review of this closed conversation; none
        when no person answered (nothing of the salesperson's to check:
        "never answered" is in the response reports)."""
        self.ensure_one()
        conversation = self.sudo()
        Review = self.env["omnichannel.quality.review"].sudo()
        review = Review.search([("conversation_id", "=", self.id)])
        if not self._quality_messages() or (
            conversation.team_id
            and not conversation.team_id.omnichannel_quality_enabled
        ):
            review.unlink()
            return Review
        # explanations are stored: written in the salesperson's language
        user = conversation.user_id or self._quality_messages()[-1:].author_user_id
        checks = self.with_context(lang=user.lang or self.env.lang)._quality_checks()
        applicable = [c for c in checks if c[1] != "na"]
        failed = [c for c in applicable if c[1] == "failed"]
        vals = {
            "conversation_id": self.id,
            "user_id": user.id,
            "team_id": conversation.team_id.id,
            "channel_id": conversation.channel_id.id,
            "company_id": conversation.company_id.id,
            "partner_id": conversation.partner_id.id,
            "date": fields.Datetime.now(),
            "check_count": len(applicable),
            "failed_count": len(failed),
            "auto_score": round(
                100.0 * (len(applicable) - len(failed)) / len(applicable), 1
            )
            if applicable
            else 100.0,
            "line_ids": [(5, 0, 0)]
            + [
                (
                    0,
                    0,
                    {
                        "sequence": index,
                        "check": check,
                        "result": result,
                        "explanation": explanation,
                        "message_ids": [(6, 0, messages.ids)],
                    },
                )
                for index, (check, result, explanation, messages) in enumerate(checks)
            ],
        }
        if review:
            review.write(vals)
        else:
            review = Review.create(vals)
        return review

    # ------------------------------------------------------------------
    # Repeat requests: a customer who comes back within a few days with a
    # similar first message, on any channel, was not fully answered the
    # first time.  Detected by the quality cron when the later conversation
    # closes, never on the reply path.
    # ------------------------------------------------------------------
    repeat_of_id = fields.Many2one(
        "omnichannel.conversation",
        "Repeat of",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The earlier conversation of the same customer, on any channel, whose "
        "topic this one repeats.",
    )

    is_repeat = fields.Boolean("Repeat request", readonly=True, index=True)

    repeat_similarity = fields.Float(
        "Topic similarity (%)", readonly=True, digits=(16, 1)
    )

    repeat_user_id = fields.Many2one(
        "res.users",
        "Salesperson of the first request",
        readonly=True,
        index="btree_not_null",
        help="Who handled the conversation the customer had to come back about.",
    )

    repeat_ids = fields.One2many(
        "omnichannel.conversation", "repeat_of_id", "Repeated by"
    )

    # 0 or 100 per conversation: their average in a pivot is the rate
    repeat_rate = fields.Float(
        "Repeat requests (%)",
        compute="_compute_repeat_rates",
        store=True,
        aggregator="avg",
        help="Share of the conversations that repeat an earlier request of the "
        "customer.",
    )

    came_back_rate = fields.Float(
        "Customers who came back (%)",
        compute="_compute_repeat_rates",
        store=True,
        aggregator="avg",
        help="Share of the conversations after which the customer came back with the "
        "same topic: by salesperson, whose answers left something open.",
    )

    @api.depends("is_repeat", "repeat_ids")
    def _compute_repeat_rates(self):
        for conversation in self:
            conversation.repeat_rate = 100.0 if conversation.is_repeat else 0.0
            conversation.came_back_rate = 100.0 if conversation.repeat_ids else 0.0

    def _first_customer_text(self):
        message = (
            self.env["omnichannel.message"]
            .sudo()
            .search(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "in"),
                    ("author_kind", "=", "customer"),
                    ("message_type", "=", "text"),
                ],
                order="date, id",
                limit=1,
            )
        )
        return message, html2plaintext(message.body or "").strip()

    def _detect_repeat(self):
        """Link this conversation to the customer's previous one when the
        customer came back within the configured days (counted from the
        last message of the previous conversation before this one began)
        and the two first customer messages are alike enough."""
        self.ensure_one()
        conversation = self.sudo()
        params = self.env["ir.config_parameter"].sudo()
        days = int(params.get_param("omnichannel_inbox.repeat_days", 7) or 7)
        threshold = float(
            params.get_param("omnichannel_inbox.repeat_similarity", 75) or 75
        )
        vals = {
            "repeat_of_id": False,
            "is_repeat": False,
            "repeat_similarity": 0.0,
            "repeat_user_id": False,
        }
        first, text = self._first_customer_text()
        if first and text:
            Message = self.env["omnichannel.message"].sudo()
            earlier = Message._read_group(
                [
                    ("partner_id", "=", conversation.partner_id.id),
                    ("conversation_id", "!=", self.id),
                    ("date", "<", first.date),
                    ("date", ">=", first.date - timedelta(days=days)),
                ],
                ["conversation_id"],
                ["date:max"],
            )
            # the most recent contact first
            for previous, _last in sorted(
                earlier, key=lambda row: (row[1], row[0].id), reverse=True
            ):
                _message, previous_text = previous._first_customer_text()
                score = similarity(text, previous_text)
                if score >= threshold:
                    vals.update(
                        repeat_of_id=previous.id,
                        is_repeat=True,
                        repeat_similarity=score,
                        repeat_user_id=previous.user_id.id,
                    )
                    break
        conversation.write(vals)

    # ------------------------------------------------------------------
    # Cron: checklists and repeat requests of closed conversations
    # ------------------------------------------------------------------
    @api.model
    def _cron_quality(self):
        """Score the conversations closed since the last run, a batch per
        transaction (``ir.cron._commit_progress``); woken with
        ``_trigger()`` when a conversation closes."""
        super()._cron_quality()
        # commit per batch only as the scheduled action (not inside a test,
        # nor when the demo data calls it during the installation)
        in_cron = in_scheduler(self.env)
        done = self.browse()
        domain = [("quality_due", "=", True)]
        remaining = self.sudo().search_count(domain)
        while remaining:
            batch = self.sudo().search(domain, order="id", limit=QUALITY_BATCH)
            if not batch:
                break
            for conversation in batch:
                conversation._quality_score()
                conversation._detect_repeat()
            batch.write({"quality_due": False})
            done |= batch
            remaining = self.sudo().search_count(domain)
            if in_cron and commit_progress(self.env, len(batch), remaining) <= 0:
                break
        return done
