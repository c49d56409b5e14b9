from odoo import fields, models
from odoo.exceptions import AccessError, UserError


class OmnichannelConversationTransfer(models.Model):
    """One hand-over of a conversation by a person: who gave it, to whom (a
    person or a team queue), with which note.  The one who gave it (or a
    manager) can take it back while it is the last transfer."""

    _name = "omnichannel.conversation.transfer"
    _description = "Conversation transfer"
    _order = "date desc, id desc"

    conversation_id = fields.Many2one(
        "omnichannel.conversation",
        string="Conversation",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(
        related="conversation_id.company_id", store=True, index=True
    )
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    from_user_id = fields.Many2one(
        "res.users", string="Transferred by", required=True, readonly=True, index=True
    )
    previous_user_id = fields.Many2one(
        "res.users", string="Previous salesperson", readonly=True
    )
    previous_team_id = fields.Many2one("crm.team", "Previous team", readonly=True)
    to_user_id = fields.Many2one("res.users", string="Transferred to", readonly=True)
    to_team_id = fields.Many2one("crm.team", string="Team", readonly=True)
    note = fields.Text(readonly=True)
    taken_back = fields.Boolean(readonly=True)
    return_at = fields.Datetime(
        "Returns on",
        readonly=True,
        index="btree_not_null",
        help="A hand-over during a leave: the conversation goes back to the person "
        "who was away when the leave ends (the team's choice).",
    )

    def _transfer(self, conversation, user, team, note=""):
        """Give ``conversation`` (checked writable by the current user) and
        its lead to ``user``, or to ``team``'s queue; record it."""
        conversation.ensure_one()
        actor = self.env.user
        if actor.share:
            raise AccessError(self.env._("Only employees may transfer conversations."))
        conversation.check_access("write")
        if not user and not team:
            raise UserError(self.env._("Choose a person or a team."))
        if user and user.share:
            raise UserError(self.env._("A conversation goes to an employee."))
        if not team and user and user not in conversation.team_id.member_ids:
            team = user.sale_team_id
        team = team or conversation.team_id
        record = self.sudo().create(
            {
                "conversation_id": conversation.id,
                "from_user_id": actor.id,
                "previous_user_id": conversation.user_id.id,
                "previous_team_id": conversation.team_id.id,
                "to_user_id": user.id,
                "to_team_id": team.id,
                "note": note or False,
            }
        )
        record._move(user, team, note)
        return record

    def _move(self, user, team, note, why=None):
        """Move the conversation and its lead; the previous owner stops
        following both; the new owner (or the team leader) is told."""
        self.ensure_one()
        conversation = self.conversation_id.sudo()
        lead = conversation.lead_id
        conversation._lock_for_assignment()
        previous = conversation.user_id
        actor = self.env.user
        if team != conversation.team_id:
            conversation.write({"team_id": team.id})
        if lead and lead.team_id != team:
            lead.write({"team_id": team.id})
        why = why or self.env._("transferred by %s", actor.name)
        if note:
            why = f"{why}: {note}"
        if user:
            conversation._assign(user, why)
        else:
            conversation._assign_to_queue(why)
            if lead:
                lead.write({"user_id": False})
        if previous and previous != user and lead:
            lead.message_unsubscribe(partner_ids=previous.partner_id.ids)
        if user and lead:
            lead.message_subscribe(partner_ids=user.partner_id.ids)
        reader = user or team.user_id
        if not reader:
            return
        told = conversation.with_context(lang=conversation._reader_lang(reader))
        summary = (
            why
            if self.return_at
            else told.env._("Conversation transferred to you by %s", actor.name)
        )
        # A note addressed to the new owner: their Odoo inbox (or e-mail) gets it.
        told.message_post(
            body=f"{summary}: {note}" if note else summary,
            partner_ids=reader.partner_id.ids,
            subtype_xmlid="mail.mt_note",
            message_type="comment",
        )
        if lead:
            lead.with_context(lang=told.env.lang).activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=reader.id,
                summary=summary,
                note=note or False,
            )

    def action_take_back(self):
        """The one who transferred (or a manager) takes the conversation back,
        as it was before: their owner and team."""
        for transfer in self:
            manager = self.env.user.has_group(
                "omnichannel_inbox.group_omnichannel_manager"
            )
            if transfer.from_user_id != self.env.user and not manager:
                raise AccessError(
                    self.env._("Only who transferred a conversation may take it back.")
                )
            last = self.sudo().search(
                [("conversation_id", "=", transfer.conversation_id.id)], limit=1
            )
            if transfer.taken_back or last != transfer:
                raise UserError(
                    self.env._("This transfer was already taken back or followed.")
                )
            transfer.sudo().taken_back = True
            owner = transfer.previous_user_id or transfer.from_user_id
            team = transfer.previous_team_id or transfer.conversation_id.team_id
            transfer.sudo()._move(
                owner, team, self.env._("taken back by %s", self.env.user.name)
            )
        return True

    def _record_leave_handover(self, user, conversations, until):
        """Keep the hand-over of ``user``'s ``conversations`` at the start of
        a leave; those of a team that wants it return when it ends."""
        for conversation in conversations.sudo():
            if conversation.user_id == user:
                continue
            back = conversation.team_id.omnichannel_return_after_leave
            self.sudo().create(
                {
                    "conversation_id": conversation.id,
                    "from_user_id": user.id,
                    "previous_user_id": user.id,
                    "previous_team_id": conversation.team_id.id,
                    "to_user_id": conversation.user_id.id,
                    "to_team_id": conversation.team_id.id,
                    "note": self.env._("on leave"),
                    "return_at": until if back else False,
                }
            )
            cron = self.env.ref(
                "omnichannel_inbox.ir_cron_omnichannel_handover",
                raise_if_not_found=False,
            )
            if back and cron:
                cron.sudo()._trigger(until)

    def _return_after_leave(self):
        """Give back, once their leave is over, the customers handed over
        for it, unless someone moved them since (a later transfer, a
        different owner) or the person is still away."""
        now = fields.Datetime.now()
        due = self.sudo().search(
            [("return_at", "<=", now), ("taken_back", "=", False)], limit=200
        )
        returned = self.browse()
        for transfer in due:
            conversation = transfer.conversation_id
            user = transfer.from_user_id
            last = self.sudo().search(
                [("conversation_id", "=", conversation.id)], limit=1
            )
            if last != transfer or conversation.user_id != transfer.to_user_id:
                transfer.taken_back = True  # moved since: nothing to give back
                continue
            if not user.active or not user._omnichannel_is_available(check_hours=False):
                continue
            transfer.taken_back = True
            if conversation.state != "closed":
                transfer._move(
                    user,
                    transfer.previous_team_id or conversation.team_id,
                    False,
                    why=self.env._(
                        "back from leave, from %s", transfer.to_user_id.name
                    ),
                )
            returned |= transfer
        return returned


class CrmTeam(models.Model):
    _inherit = "crm.team"

    omnichannel_return_after_leave = fields.Boolean(
        "Customers return after a leave",
        help="The conversations handed over to a substitute during a salesperson's "
        "leave go back to them when the leave ends.",
    )


class OmnichannelConversation(models.Model):
    _inherit = "omnichannel.conversation"

    transfer_ids = fields.One2many(
        "omnichannel.conversation.transfer", "conversation_id", string="Transfers"
    )

    def action_open_transfer_wizard(self):
        self.ensure_one()
        self.check_access("write")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Transfer"),
            "res_model": "omnichannel.transfer.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }
