"""Call quality marks: the salesperson's outcome of a call and a supervisor's
score (1-5 with a comment), in the call list, pivot/graph, the call form and
the lead's history.

Employees only read calls (the call is the phone system's record); these
marks are the exception, so ``write`` lets them through field by field: the
outcome by the call's own employee or a supervisor, the score only by a
supervisor (team leader of a team whose calls they see, or manager)."""

from odoo import api, fields, models
from odoo.exceptions import AccessError

SALES_OUTCOMES = [
    ("sale", "Sale"),
    ("appointment", "Appointment set"),
    ("info", "Information given"),
    ("call_back", "Call back later"),
    ("no_interest", "Not interested"),
    ("wrong_number", "Wrong number"),
]
SCORES = [("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5")]
OUTCOME_FIELDS = {"sales_outcome"}
SCORE_FIELDS = {"supervisor_score", "supervisor_comment"}
SUPERVISOR_GROUP = "omnichannel_inbox.group_omnichannel_team_leader"


class OmnichannelCall(models.Model):
    _inherit = "omnichannel.call"

    sales_outcome = fields.Selection(
        SALES_OUTCOMES,
        string="Call result",
        index=True,
        help="The salesperson's word for what the call gave.",
    )
    supervisor_score = fields.Selection(
        SCORES,
        string="Supervisor score",
        help="1 (poor) to 5 (excellent), set by a team leader or manager.",
    )
    supervisor_score_value = fields.Integer(
        "Score",
        compute="_compute_supervisor_score_value",
        store=True,
        aggregator="avg",
        help="The supervisor score as a number, for averages.",
    )
    supervisor_comment = fields.Text("Supervisor comment")
    supervisor_id = fields.Many2one(
        "res.users", string="Scored by", readonly=True, index="btree_not_null"
    )
    supervisor_date = fields.Datetime("Scored on", readonly=True)
    can_score = fields.Boolean(compute="_compute_quality_rights")
    can_set_outcome = fields.Boolean(compute="_compute_quality_rights")

    @api.depends("supervisor_score")
    def _compute_supervisor_score_value(self):
        for call in self:
            call.supervisor_score_value = int(call.supervisor_score or 0)

    @api.depends_context("uid")
    @api.depends("user_id")
    def _compute_quality_rights(self):
        supervisor = self.env.user.has_group(SUPERVISOR_GROUP)
        for call in self:
            call.can_score = supervisor
            call.can_set_outcome = supervisor or call.user_id == self.env.user

    def write(self, vals):
        marks = set(vals) & (OUTCOME_FIELDS | SCORE_FIELDS)
        if not marks or self.env.su:
            return super().write(vals)
        self._check_quality_rights(marks)
        mark_vals = {field: vals[field] for field in marks}
        if marks & SCORE_FIELDS:
            mark_vals.update(
                supervisor_id=self.env.user.id, supervisor_date=fields.Datetime.now()
            )
        # The rights are checked above, per call and per field; the marks
        # themselves are written as the system (employees only read calls).
        super(OmnichannelCall, self.sudo()).write(mark_vals)
        rest = {field: value for field, value in vals.items() if field not in marks}
        return super().write(rest) if rest else True

    def _check_quality_rights(self, marks):
        # Only calls the user may read at all (record rules), then per field.
        self.check_access("read")
        supervisor = self.env.user.has_group(SUPERVISOR_GROUP)
        if marks & SCORE_FIELDS and not supervisor:
            raise AccessError(self.env._("Only team leaders and managers score calls."))
        if marks & OUTCOME_FIELDS and not supervisor:
            others = self.sudo().filtered(lambda call: call.user_id != self.env.user)
            if others:
                raise AccessError(
                    self.env._(
                        "Only the employee of a call (or a supervisor) sets its result."
                    )
                )

    def _panel_values(self):
        values = super()._panel_values()
        call = self.sudo()
        values.update(
            {
                "sales_outcome": dict(
                    self._fields["sales_outcome"]._description_selection(self.env)
                ).get(call.sales_outcome, ""),
                "score": call.supervisor_score_value,
                "score_comment": call.supervisor_comment or "",
            }
        )
        return values
