"""Screen-pop: the customer's history pops up when the phone rings.

A call ringing an extension sends the Odoo user of that extension one bus
notification on their partner channel (every open tab of theirs shows it),
and a second one that closes it when someone else answers or the call ends.
What the popup shows is read with that user's own rights (record rules, no
sudo): a customer they may not read is shown as the number only."""

from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.tools import html2plaintext

POPUP_OPEN = "omnichannel_call/popup"
POPUP_CLOSE = "omnichannel_call/popup_close"
#: how many channels' last messages the popup lists
POPUP_CHANNELS = 5
POPUP_TEXT_LENGTH = 140


class OmnichannelCall(models.Model):
    _inherit = "omnichannel.call"

    popup_user_ids = fields.Many2many(
        "res.users",
        "omnichannel_call_popup_user_rel",
        "call_id",
        "user_id",
        string="Popup shown to",
        readonly=True,
        copy=False,
        help="Employees whose screen shows this call right now (closed when answered "
        "elsewhere or over).",
    )

    def _screen_pop(self, event):
        """After ``event`` was merged: open the popup of the user of a ringing
        extension, close the popups of the others once the call is answered
        elsewhere or over.  Provider retries do not open it twice."""
        super()._screen_pop(event)
        self.ensure_one()
        call = self.sudo()
        if call.direction == "out":
            return
        if event.status == "ringing" and call.state == "ringing" and event.extension:
            user = call._user_for_extension(event.extension)
            if user and user not in call.popup_user_ids:
                call.popup_user_ids = [(4, user.id)]
                user._bus_send(POPUP_OPEN, call._popup_values(user))
        if call.state != "ringing" and call.popup_user_ids:
            over = call.is_ended or call.state in ("missed", "voicemail", "ended")
            closing = (
                call.popup_user_ids if over else call.popup_user_ids - call.user_id
            )
            for user in closing:
                user._bus_send(
                    POPUP_CLOSE,
                    {
                        "call_id": call.id,
                        "reason": "ended" if over else "answered_elsewhere",
                    },
                )
            if closing:
                call.popup_user_ids = [(3, user.id) for user in closing]

    def _popup_values(self, user):
        """What ``user``'s popup shows, read as that user."""
        self.ensure_one()
        call = self.sudo()
        env_user = (
            call.with_user(user)
            .with_context(allowed_company_ids=user.company_ids.ids)
            .env
        )
        values = {
            "call_id": call.id,
            "number": call._format_number(
                call.customer_phone_sanitized or call.customer_number, call.company_id
            ),
            "line": call.channel_id.name,
            "customer": False,
            "new_caller": False,
            "lead": False,
            "history": False,
            "messages": [],
        }
        partner = call.conversation_id.partner_id.with_env(env_user)
        if not partner or not partner.has_access("read"):
            # Nothing of a customer this user may not read: the number only.
            return values
        values["customer"] = {"id": partner.id, "name": partner.display_name}
        values["history"] = {"model": "res.partner", "id": partner.id}
        lead = self._popup_open_lead(env_user, partner, call.conversation_id.lead_id)
        if lead:
            values["lead"] = {
                "id": lead.id,
                "name": lead.name,
                "stage": lead.stage_id.name or "",
                "user": lead.user_id.name or "",
            }
        Message = env_user["omnichannel.message"]
        messages = Message.search(
            [("partner_id", "=", partner.id), ("id", "!=", call.message_id.id)],
            order="date desc, id desc",
            limit=50,
        )
        seen = set()
        for message in messages:
            if message.channel_id.id in seen:
                continue
            seen.add(message.channel_id.id)
            if message.call_id:
                text = message.call_id.sudo()._title()
            else:
                text = html2plaintext(message.body or "").strip() or dict(
                    message._fields["message_type"]._description_selection(env_user)
                ).get(message.message_type, "")
            if len(text) > POPUP_TEXT_LENGTH:
                text = text[: POPUP_TEXT_LENGTH - 1] + "…"
            values["messages"].append(
                {
                    "id": message.id,
                    "channel": message.channel_id.name,
                    "channel_type": message.channel_type,
                    "direction": message.direction,
                    "date": fields.Datetime.to_string(message.date),
                    "text": text,
                }
            )
            if len(seen) >= POPUP_CHANNELS:
                break
        values["new_caller"] = not values["lead"] and not values["messages"]
        return values

    def _popup_open_lead(self, env_user, partner, lead):
        """The customer's open lead the user may read: the conversation's own,
        else their newest open one."""
        lead = lead.with_env(env_user)
        if (
            lead
            and lead.active
            and lead.has_access("read")
            and not (lead.stage_id.is_won or lead.probability == 100)
        ):
            return lead
        return env_user["crm.lead"].search(
            [
                ("partner_id", "child_of", partner.commercial_partner_id.id),
                ("stage_id.is_won", "=", False),
                ("probability", "<", 100),
            ],
            order="create_date desc",
            limit=1,
        )

    def action_popup_create_lead(self):
        """The popup's "Create a lead" for a caller without one: the lead is
        created as the user (their rights), then tied to the call."""
        self.ensure_one()
        try:
            self.check_access("read")
        except AccessError:
            raise AccessError(self.env._("You cannot read this call.")) from None
        call = self.sudo()
        partner = call.conversation_id.partner_id.with_env(self.env)
        if partner and not partner.has_access("read"):
            partner = partner.browse()
        number = call._format_number(
            call.customer_phone_sanitized or call.customer_number, call.company_id
        )
        lead = self.env["crm.lead"].create(
            {
                "name": self.env._("Call from %s", partner.display_name or number),
                "type": "opportunity",
                "partner_id": partner.id or False,
                "phone": call.customer_number or number,
                "user_id": self.env.user.id,
                "team_id": (call.conversation_id.team_id or call.channel_id.team_id).id
                or False,
            }
        )
        if not call.lead_id:
            call.lead_id = lead
        if call.conversation_id and not call.conversation_id.lead_id:
            call.conversation_id.lead_id = lead
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": lead.id,
            "views": [(False, "form")],
            "target": "current",
        }
