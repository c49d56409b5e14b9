"""First-contact questionnaire: per channel account, a few questions the bot
asks a new customer before a person joins (their name, what they need, their
phone or email, a call-back time), one at a time, each answer filled into the
lead.

The questions are ordinary automatic replies (``_post_reply``, author_kind
'auto'): they go through the channel's send path, messaging windows and
retries.  Answer buttons and the share-my-phone button are what the
connector declares (``supports_buttons``, ``supports_request_contact``);
elsewhere the options are numbered in the text and a typed number or option
is the answer.  The questionnaire stops for good as soon as the customer
writes freely or a person answers: it never stands between a customer and a
salesperson."""

import re
from datetime import timedelta

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize, email_split, html2plaintext
from odoo.tools.misc import format_datetime

from odoo.addons.omnichannel_inbox import connectors

QUESTION_KINDS = [
    ("name", "Customer's name"),
    ("need", "What they need"),
    ("phone", "Customer's phone"),
    ("email", "Customer's email"),
    ("callback", "Call-back time"),
]
#: A typed option number ("2", "2.", "#2").
_NUMBER = re.compile(r"^\W{0,2}(\d{1,2})\W{0,2}$")
#: A typed phone number: digits and the usual separators, nothing else.
_PHONE = re.compile(r"^\+?[\d\s().-]{6,20}$")
#: An answer longer than this (words or characters) that fits no question is
#: the customer writing freely: the questionnaire stops at once.  A shorter
#: one (a typo, "what?") gets the question once more.
SHORT_WORDS = 3
SHORT_CHARS = 40
#: A name is a few words without digits, @ or a question.
NAME_WORDS = 4
NAME_CHARS = 60
#: Call-back slots: this long, starting on the hour or the half hour, at
#: least LEAD_TIME from now, searched within SLOT_DAYS of business hours.
SLOT_MINUTES = 30
LEAD_TIME = timedelta(minutes=30)
SLOT_DAYS = 14


class OmnichannelQuestionnaireQuestion(models.Model):
    _name = "omnichannel.questionnaire.question"
    _description = "First-contact Question"
    _order = "sequence, id"

    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Channel account",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="channel_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(
        "Question text",
        required=True,
        translate=True,
        help="What the bot asks, in the customer's language (translate it with the "
        "language button).",
    )
    kind = fields.Selection(
        QUESTION_KINDS,
        "Asks for",
        required=True,
        default="need",
        help="Name: the customer's and the lead's contact name. "
        "What they need: the lead's description (and tags). "
        "Phone and Email: the customer's and the lead's (Telegram shows a "
        "share-my-phone button). "
        "Call-back time: offers the nearest free slot of the business hours and "
        "books it as a call activity for the lead's salesperson.",
    )
    options = fields.Text(
        "Answer options",
        translate=True,
        help="One option per line: buttons where the provider has them, a numbered "
        "list elsewhere.  Empty: any answer is taken.",
    )
    tag_lead = fields.Boolean(
        "Tag the lead",
        help="Add the chosen option to the lead's tags.",
    )

    @api.onchange("kind")
    def _onchange_kind(self):
        if self.kind != "need":
            self.options = False
            self.tag_lead = False

    def _options(self):
        """The answer options, in the language of the context."""
        self.ensure_one()
        if self.kind == "callback":
            return [self.env._("Yes, call me"), self.env._("No, thank you")]
        if self.kind != "need":
            return []
        return [
            line.strip() for line in (self.options or "").splitlines() if line.strip()
        ]


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    questionnaire_enabled = fields.Boolean(
        "First-contact questionnaire",
        help="A new customer is asked these questions, one at a time, before a "
        "person joins; it stops as soon as they write freely or someone answers.",
    )
    questionnaire_question_ids = fields.One2many(
        "omnichannel.questionnaire.question",
        "channel_id",
        string="First-contact questions",
    )
    questionnaire_done_text = fields.Text(
        "Thanks after the questions",
        translate=True,
        default=lambda self: self.env._(
            "Thank you! A manager will join this chat shortly."
        ),
        help="Sent after the last answer; empty: nothing is sent.",
    )


class MailActivity(models.Model):
    _inherit = "mail.activity"

    omnichannel_callback_at = fields.Datetime(
        "Call back at",
        readonly=True,
        index="btree_not_null",
        help="The time the customer accepted for a call back.",
    )


class OmnichannelMessage(models.Model):
    _inherit = "omnichannel.message"

    questionnaire_question_id = fields.Many2one(
        "omnichannel.questionnaire.question",
        "Question asked",
        readonly=True,
        ondelete="set null",
        help="This message asked a first-contact question.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        question = self.env.context.get("omnichannel_questionnaire_question")
        if question:
            for vals in vals_list:
                if vals.get("direction") == "out":
                    vals["questionnaire_question_id"] = question
        return super().create(vals_list)

    def _outbound_payload(self):
        payload = super()._outbound_payload()
        question = self.questionnaire_question_id
        if question:
            # Kept on the message, so a retry by the cron has its buttons too.
            conversation = self.conversation_id
            connector = connectors.get_connector_class(conversation.channel_type)
            question = question.with_context(lang=conversation._questionnaire_lang())
            if question.kind == "phone" and connector.supports_request_contact:
                payload.request_contact = question.env._("Share my phone number")
            elif connector.supports_buttons:
                payload.choices = question._options()
        return payload


class OmnichannelConversation(models.Model):
    _inherit = "omnichannel.conversation"

    questionnaire_state = fields.Selection(
        [
            ("asking", "Asking"),
            ("done", "All answered"),
            ("stopped", "Stopped"),
        ],
        "Questionnaire",
        readonly=True,
        copy=False,
        help="Asking: the bot waits for the answer to its question. Stopped: the "
        "customer wrote freely or a person answered.",
    )
    questionnaire_question_id = fields.Many2one(
        "omnichannel.questionnaire.question",
        "Current question",
        readonly=True,
        copy=False,
        ondelete="set null",
    )
    questionnaire_reasked = fields.Boolean(readonly=True, copy=False)
    questionnaire_slot = fields.Datetime(
        "Call-back offered",
        readonly=True,
        copy=False,
        help="The call-back time offered to the customer.",
    )
    questionnaire_answers = fields.Json(
        readonly=True,
        copy=False,
        help="The answers, kept for the lead when it does not exist yet.",
    )

    def write(self, vals):
        result = super().write(vals)
        if vals.get("lead_id"):
            for conversation in self.filtered("questionnaire_answers"):
                conversation._questionnaire_fill_lead(
                    conversation.questionnaire_answers
                )
        return result

    def _privacy_erase_content(self):
        # The answers kept for a lead hold a name, a phone, an email.
        super()._privacy_erase_content()
        self.sudo().write({"questionnaire_answers": False})

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------
    def _after_receive(self, message):
        super()._after_receive(message)
        # Two columns already read: no query for the channels without one.
        if self.questionnaire_state == "asking":
            self._questionnaire_answer(message)
        elif not self.questionnaire_state and self.channel_id.questionnaire_enabled:
            self._questionnaire_start(message)

    def _register_outbound(self, message):
        # Whichever way a person's answer left (chat panel, email, live chat).
        super()._register_outbound(message)
        if message.author_kind == "employee" and self.questionnaire_state == "asking":
            self._questionnaire_stop("person")

    # ------------------------------------------------------------------
    # The questions
    # ------------------------------------------------------------------
    def _questionnaire_lang(self):
        """The customer's language: the one their app reports (Telegram),
        else the language of a customer we know, else the company's."""
        self.ensure_one()
        Identity = self.env["omnichannel.identity"]
        installed = {code for code, _name in self.env["res.lang"].get_installed()}
        partner = self.partner_id
        for lang in (
            Identity._installed_lang(self.identity_id.language),
            partner.lang if not partner.omnichannel_auto_created else False,
            (self.channel_id.company_id or self.env.company).partner_id.lang,
        ):
            if lang and lang in installed:
                return lang
        return "en_US"

    def _questionnaire_start(self, message):
        """A new customer's first message, nobody has answered yet."""
        if self.first_response_date or not self._is_first_customer_message(message):
            return
        self.sudo().write(
            {"questionnaire_state": "asking", "questionnaire_answers": {}}
        )
        self._questionnaire_next()

    def _questionnaire_next(self):
        """Ask the next question whose answer we do not know yet; thank the
        customer after the last one."""
        current = self.questionnaire_question_id
        questions = self.channel_id.questionnaire_question_ids.sorted()
        if current in questions:
            questions = questions[list(questions).index(current) + 1 :]
        for question in questions:
            if self._questionnaire_known(question):
                continue
            slot = False
            if question.kind == "callback":
                slot = self._questionnaire_free_slot()
                if not slot:
                    continue
            self.sudo().write(
                {
                    "questionnaire_question_id": question.id,
                    "questionnaire_reasked": False,
                    "questionnaire_slot": slot,
                }
            )
            self._questionnaire_ask(question)
            return
        self._questionnaire_done()

    def _questionnaire_known(self, question):
        """Questions whose answer the customer's record holds already."""
        partner, identity = self.partner_id, self.identity_id
        if question.kind == "name":
            return not partner.omnichannel_auto_created
        if question.kind == "phone":
            return bool(identity.phone_sanitized or partner.phone)
        if question.kind == "email":
            return bool(identity.email_normalized or partner.email)
        return False

    def _questionnaire_ask(self, question, again=False):
        lang = self._questionnaire_lang()
        question = question.with_context(lang=lang)
        env = question.env
        connector = connectors.get_connector_class(self.channel_type)
        lines = []
        if again:
            lines.append(env._("Sorry, I did not get that."))
        lines.append(question.name)
        if question.kind == "callback":
            lines.append(
                env._(
                    "The nearest free time: %(time)s.",
                    time=self._questionnaire_slot_label(self.questionnaire_slot, lang),
                )
            )
        options = question._options()
        if options and not connector.supports_buttons:
            lines += [f"{number}. {option}" for number, option in enumerate(options, 1)]
            lines.append(env._("Reply with the number of your answer."))
        try:
            self.with_context(
                omnichannel_questionnaire_question=question.id
            )._post_reply("\n".join(lines), author_kind="auto")
        except UserError:
            # The channel cannot carry it now (unreachable, window closed).
            self._questionnaire_stop("unsent")

    def _questionnaire_answer(self, message):
        question = self.questionnaire_question_id
        if not question:
            return self._questionnaire_stop("removed")
        value = self._questionnaire_parse(question, message)
        if value is None:
            text = html2plaintext(message.body or "").strip()
            short = (
                text
                and len(text) <= SHORT_CHARS
                and len(text.split()) <= SHORT_WORDS
                and question.kind != "name"
            )
            if short and not self.questionnaire_reasked:
                self.sudo().questionnaire_reasked = True
                return self._questionnaire_ask(question, again=True)
            return self._questionnaire_stop("free")
        answers = dict(self.questionnaire_answers or {})
        self._questionnaire_apply(question, value, answers, message)
        self.sudo().questionnaire_answers = answers
        self._questionnaire_fill_lead(answers)
        return self._questionnaire_next()

    def _questionnaire_parse(self, question, message):
        """The answer ``message`` gives to ``question``, or None when it is
        no answer to it."""
        text = html2plaintext(message.body or "").strip()
        if question.kind == "phone" and message.card_phone:
            return message.card_phone
        if message.card_phone or message.card_email:
            return None
        kind = question.kind
        if kind in ("need", "callback"):
            options = question.with_context(lang=self._questionnaire_lang())._options()
            if not options:
                return text or None
            number = _NUMBER.match(text)
            if number and 1 <= int(number.group(1)) <= len(options):
                return int(number.group(1)) - 1
            folded = text.casefold()
            for index, option in enumerate(options):
                if option.casefold() == folded:
                    return index
            return None
        if kind == "name":
            if (
                text
                and len(text) <= NAME_CHARS
                and len(text.split()) <= NAME_WORDS
                and not re.search(r"[\d@?/]", text)
            ):
                return text
            return None
        if kind == "phone":
            if _PHONE.match(text) and self.identity_id._sanitize_phone(
                text, self.channel_id.company_id
            ):
                return text
            return None
        if kind == "email":
            # "anna@example.org", "my email: anna@example.org"
            emails = email_split(text)
            email = email_normalize(emails[0]) if len(emails) == 1 else False
            return email if email and len(text.split()) <= NAME_WORDS else None
        return None

    def _questionnaire_apply(self, question, value, answers, message):
        """Store one answer on the customer, keep it for the lead."""
        partner, identity = self.partner_id.sudo(), self.identity_id.sudo()
        kind = question.kind
        if kind == "name":
            answers["name"] = value
            # Only a customer created for this very person takes the name.
            if (
                partner.omnichannel_auto_created
                and partner.omnichannel_identity_ids == identity
            ):
                partner.name = value
        elif kind == "phone":
            answers["phone"] = value
            identity._link_contact_details(phone=value)
        elif kind == "email":
            answers["email"] = value
            identity._link_contact_details(email=value)
        elif kind == "need":
            if isinstance(value, int):
                reader = question.with_context(lang=self._reader_lang())._options()
                said = question.with_context(lang=self._questionnaire_lang())._options()
                answers.setdefault("need", []).append(said[value])
                if question.tag_lead and value < len(reader):
                    answers.setdefault("tags", []).append(reader[value])
            else:
                answers.setdefault("need", []).append(value)
        elif kind == "callback" and value == 0 and self.questionnaire_slot:
            answers["callback"] = fields.Datetime.to_string(self.questionnaire_slot)
            self._questionnaire_book_callback(self.questionnaire_slot, message)

    def _questionnaire_fill_lead(self, answers):
        """Fill the lead's empty fields from the answers (again when the
        lead comes later): a salesperson's input is never overwritten."""
        lead = self.lead_id.sudo()
        if not lead or not answers:
            return
        vals = {}
        if answers.get("name") and lead.contact_name != answers["name"]:
            if not lead.contact_name or lead.contact_name == self.identity_id.name:
                vals["contact_name"] = answers["name"]
        if answers.get("phone") and not lead.phone:
            vals["phone"] = answers["phone"]
        if answers.get("email") and not lead.email_from:
            vals["email_from"] = answers["email"]
        needs = answers.get("need") or []
        description = html2plaintext(lead.description or "")
        missing = [need for need in needs if need not in description]
        if missing:
            vals["description"] = Markup("").join(
                [Markup(lead.description or "")]
                + [Markup("<p>%s</p>") % need for need in missing]
            )
        tags = self.env["crm.tag"].sudo()
        for name in answers.get("tags") or []:
            tag = tags.search([("name", "=ilike", name)], limit=1) or tags.create(
                {"name": name}
            )
            if tag not in lead.tag_ids:
                vals.setdefault("tag_ids", []).append(fields.Command.link(tag.id))
        if vals:
            lead.write(vals)

    def _questionnaire_done(self):
        # Thanks only for answers: nothing when there was nothing to ask.
        asked = bool(self.questionnaire_question_id)
        self.sudo().write(
            {"questionnaire_state": "done", "questionnaire_question_id": False}
        )
        if not asked:
            return
        channel = self.channel_id.with_context(lang=self._questionnaire_lang())
        if channel.questionnaire_done_text:
            try:
                self._post_reply(channel.questionnaire_done_text, author_kind="auto")
            except UserError:
                pass
        self._questionnaire_log(
            self.with_context(lang=self._reader_lang()).env._(
                "The customer answered the first-contact questions."
            )
        )

    def _questionnaire_stop(self, reason):
        """Stop for good: the customer writes freely, a person answered."""
        self.sudo().write(
            {"questionnaire_state": "stopped", "questionnaire_question_id": False}
        )
        env = self.with_context(lang=self._reader_lang()).env
        why = {
            "free": env._("the customer wrote freely"),
            "person": env._("a person answered the customer"),
            "unsent": env._("the question could not be sent"),
            "removed": env._("its questions were removed"),
        }[reason]
        self._questionnaire_log(env._("First-contact questions stopped: %s.", why))

    def _questionnaire_log(self, text):
        self.sudo()._message_log(body=Markup("<p>%s</p>") % text)

    # ------------------------------------------------------------------
    # Call back
    # ------------------------------------------------------------------
    def _questionnaire_owner(self):
        """Who calls back: the lead's salesperson, the conversation's, else
        the team leader."""
        return self.lead_id.user_id or self.user_id or self.team_id.user_id

    def _questionnaire_free_slot(self):
        """The nearest SLOT_MINUTES slot of the business hours, LEAD_TIME
        from now, not booked yet for the same person (naive UTC), or False."""
        channel = self.channel_id
        if not channel._phone_calendar():
            return False
        now = fields.Datetime.now()
        earliest = now + LEAD_TIME
        step = timedelta(minutes=SLOT_MINUTES)
        owner = self._questionnaire_owner()
        taken = set(
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("omnichannel_callback_at", ">=", now),
                    ("omnichannel_callback_at", "<", now + timedelta(days=SLOT_DAYS)),
                    ("user_id", "=", owner.id or False),
                ]
            )
            .mapped("omnichannel_callback_at")
        )
        for start, end in sorted(channel._phone_work_intervals(now, days=SLOT_DAYS)):
            slot = max(start, earliest).replace(second=0, microsecond=0)
            if slot.minute % SLOT_MINUTES:
                slot += timedelta(minutes=SLOT_MINUTES - slot.minute % SLOT_MINUTES)
            while slot + step <= end:
                if slot not in taken:
                    return slot
                slot += step
        return False

    def _questionnaire_tz(self):
        calendar = self.channel_id._phone_calendar()
        return calendar.tz or self.env.company.partner_id.tz or "UTC"

    def _questionnaire_slot_label(self, slot, lang):
        tz = self._questionnaire_tz()
        return "{} ({})".format(
            format_datetime(
                self.env, slot, tz=tz, dt_format="EEEE, d MMMM, HH:mm", lang_code=lang
            ),
            tz,
        )

    def _questionnaire_book_callback(self, slot, message):
        """A call activity on the lead (the customer without one) for its
        owner, due on the slot's day, the time in its summary."""
        owner = self._questionnaire_owner()
        self = self.with_context(lang=self._reader_lang(owner or None))
        record = (self.lead_id or self.partner_id).sudo()
        tz = self._questionnaire_tz()
        local = pytz.utc.localize(slot).astimezone(pytz.timezone(tz))
        if not owner:
            self._questionnaire_log(
                self.env._(
                    "The customer asked for a call back at %s: nobody owns the "
                    "conversation yet.",
                    self._questionnaire_slot_label(slot, self.env.lang),
                )
            )
        record.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=local.date(),
            summary=self.env._(
                "Call back at %(time)s", time=local.strftime("%H:%M") + f" ({tz})"
            ),
            note=Markup("<p>%s</p>")
            % self.env._(
                "The customer chose this time in the first-contact questions on "
                "%(channel)s.",
                channel=self.channel_id.name,
            ),
            user_id=owner.id or self.env.ref("base.user_root").id,
            omnichannel_callback_at=slot,
            omnichannel_message_id=message.id,
        )
