"""Telegram links that carry a campaign (``t.me/<bot>?start=<payload>``).

An administrator makes a link per place it is published (a post, a flyer,
an ad): its short code is the ``start`` payload, its UTM records go on the
leads it opens, and the list counts them.  The website widget adds the
visitor's UTM to its Telegram button as ids of existing records (see
connectors/telegram_deeplink.py).  A payload is anyone's to type: nothing
a payload says creates a record; it can only point at what the company
made."""

import secrets
import string

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import escape_psql

from odoo.addons.omnichannel_inbox.connectors.telegram_deeplink import (
    UTM_PREFIX,
    decode_start_payload,
    encode_utm_ids,
    is_start_payload,
    start_link,
)

from .omnichannel_inbound_event import UTM_FIELDS

CODE_ALPHABET = string.ascii_lowercase + string.digits
CODE_LENGTH = 8


def _new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


class OmnichannelDeepLink(models.Model):
    _name = "omnichannel.deep.link"
    _description = "Telegram link with a campaign"
    _order = "id desc"

    name = fields.Char(
        required=True, help="Where the link is published: a post, a flyer, an ad."
    )
    active = fields.Boolean(default=True)
    channel_id = fields.Many2one(
        "omnichannel.channel",
        "Telegram bot",
        required=True,
        ondelete="cascade",
        domain=[("channel_type", "=", "telegram")],
    )
    company_id = fields.Many2one(related="channel_id.company_id", store=True)
    code = fields.Char(
        required=True,
        copy=False,
        default=lambda self: _new_code(),
        help="The start parameter of the link: up to 64 characters A-Z a-z 0-9 _ -.",
    )
    source_id = fields.Many2one("utm.source", "Source", ondelete="set null")
    medium_id = fields.Many2one("utm.medium", "Medium", ondelete="set null")
    campaign_id = fields.Many2one("utm.campaign", "Campaign", ondelete="set null")
    url = fields.Char(
        "Link",
        compute="_compute_url",
        help="Set the bot's @username as the public handle of the Telegram channel to "
        "get the link.",
    )
    lead_ids = fields.One2many(
        "crm.lead", "omnichannel_deep_link_id", string="Leads", readonly=True
    )
    lead_count = fields.Integer("Leads opened", compute="_compute_lead_count")

    _channel_code_unique = models.Constraint(
        "UNIQUE(channel_id, code)", "A link code is used once per bot."
    )

    @api.constrains("code")
    def _check_code(self):
        for link in self:
            if not is_start_payload(link.code) or link.code.startswith(UTM_PREFIX):
                raise ValidationError(
                    self.env._(
                        "A link code is 1 to 64 characters A-Z a-z 0-9 _ - and does "
                        "not start with %s.",
                        UTM_PREFIX,
                    )
                )

    @api.depends("code", "channel_id.public_handle")
    def _compute_url(self):
        for link in self:
            base = link.channel_id._deep_link() if link.channel_id else False
            link.url = start_link(base, link.code) if base and link.code else False

    def _compute_lead_count(self):
        counts = dict(
            self.env["crm.lead"]
            .with_context(active_test=False)
            ._read_group(
                [("omnichannel_deep_link_id", "in", self.ids)],
                ["omnichannel_deep_link_id"],
                ["__count"],
            )
        )
        for link in self:
            link.lead_count = counts.get(link._origin, 0)

    def action_view_leads(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Leads of %s", self.name),
            "res_model": "crm.lead",
            "view_mode": "list,form",
            "domain": [("omnichannel_deep_link_id", "=", self.id)],
            "context": {"active_test": False},
        }

    # ------------------------------------------------------------------
    # Payloads
    # ------------------------------------------------------------------
    @api.model
    def _existing_utm(self, names):
        """{lead field: id} of the utm records named ``names`` (a dict
        utm_source/utm_medium/utm_campaign -> name) that exist, whatever the
        case; a name without a record is dropped (a visitor's or a
        stranger's words create nothing).  A start payload has no spaces:
        its underscores also stand for them ("spring_sale" is "Spring sale")."""
        values = {}
        for key, (field, model) in UTM_FIELDS.items():
            name = (names.get(key) or "").strip()[:100]
            Model = self.env[model].sudo().with_context(active_test=False)
            for candidate in dict.fromkeys([name, name.replace("_", " ").strip()]):
                record = candidate and Model.search(
                    [("name", "=ilike", escape_psql(candidate))], limit=1
                )
                if record:
                    values[field] = record.id
                    break
        return values

    @api.model
    def _resolve_payload(self, channel, payload):
        """(link, lead values) of a ``/start`` payload received by
        ``channel``: a link of ours by its code, else the utm records it
        names (ids or existing names).  (empty, {}) for anything else."""
        claim = decode_start_payload(payload)
        link = self.browse()
        if not claim:
            return link, {}
        link = self.sudo().search(
            [("channel_id", "=", channel.id), ("code", "=", claim.code)], limit=1
        )
        if link:
            values = {"omnichannel_deep_link_id": link.id}
            for field, _model in UTM_FIELDS.values():
                if link[field]:
                    values[field] = link[field].id
            return link, values
        if any(claim.ids):
            values = {}
            for (field, model), record_id in zip(
                UTM_FIELDS.values(), claim.ids, strict=True
            ):
                if record_id and self.env[model].sudo().browse(record_id).exists():
                    values[field] = record_id
            return link, values
        return link, self._existing_utm(dict(zip(UTM_FIELDS, claim.names, strict=True)))

    @api.model
    def _visitor_payload(self, utm):
        """The ``utm-`` payload of a website visitor's UTM parameters (names),
        "" when none of them names an existing record."""
        values = self._existing_utm(utm or {})
        return encode_utm_ids(
            *(values.get(field, 0) for field, _model in UTM_FIELDS.values())
        )


class CrmLead(models.Model):
    _inherit = "crm.lead"

    omnichannel_deep_link_id = fields.Many2one(
        "omnichannel.deep.link",
        "Telegram link",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The Telegram link the customer opened the bot with.",
    )


class OmnichannelInboundEvent(models.Model):
    _inherit = "omnichannel.inbound.event"

    def _telegram_start(self, event):
        """The payload of a Telegram ``/start <payload>`` message, None for
        any other event."""
        if (
            event.kind != "message"
            or not self.channel_id._connector_class().deep_link_payload
            or getattr(event, "command", "") != "start"
        ):
            return None
        return (event.text or "").partition(" ")[2].strip()

    def _deep_link_of(self, event):
        """(link, lead values) of a ``/start <payload>`` message, read only
        from records that exist; None for any other event."""
        payload = self._telegram_start(event)
        if payload is None:
            return None
        return self.env["omnichannel.deep.link"]._resolve_payload(
            self.channel_id, payload
        )

    def _utm_lead_values(self, event):
        """A ``/start`` payload names its UTM through our links or the ids
        of existing records: it never creates them (the journal's own
        handling, for the other events, does)."""
        if self._telegram_start(event) is None:
            return super()._utm_lead_values(event)
        resolved = self.env.context.get(
            "omnichannel_deep_link_resolved"
        ) or self._deep_link_of(event)
        return resolved[1]

    def _apply_utm(self, lead, values, description=""):
        """The lead says which link the customer came through."""
        link = self.env["omnichannel.deep.link"].browse(
            values.get("omnichannel_deep_link_id")
        )
        return super()._apply_utm(
            lead, values, description=description or link.sudo().name or ""
        )

    def _process_message(self, event, final_attempt=False):
        """``/start <payload>``: the salesperson reads where the customer
        came from instead of a code (the lead's UTM follow from
        ``_utm_lead_values``).  A payload that is not ours stays as it was
        typed, with no UTM; the greeting is sent either way."""
        resolved = self._deep_link_of(event)
        rows = self
        if resolved is not None:
            # The names the connector read from a hand-written payload are
            # not UTM of ours: only the resolved values count.
            event.utm_source = event.utm_medium = event.utm_campaign = ""
            link, values = resolved
            names = [
                self.env[model].sudo().browse(values[field]).name
                for field, model in UTM_FIELDS.values()
                if values.get(field)
            ]
            if link:
                event.text = self.env._("Started the bot from the link %s", link.name)
            elif names:
                event.text = self.env._(
                    "Started the bot from a link: %s", " / ".join(names)
                )
            # Read once: the text no longer holds the payload.
            rows = self.with_context(omnichannel_deep_link_resolved=resolved)
        return super(OmnichannelInboundEvent, rows)._process_message(
            event, final_attempt=final_attempt
        )
