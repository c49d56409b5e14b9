from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.exceptions import AccessError

#: Prefix of this addon's KPIs on digest.digest: the dashboard shows every
#: Boolean ``kpi_omnichannel_*`` field (and its ``*_value``) it finds, so a KPI
#: another part of the addon adds appears there without touching the dashboard.
KPI_PREFIX = "kpi_omnichannel_"


class DigestDigest(models.Model):
    """The sales head's weekly figures in Odoo's periodic digest email.  The
    digest computes each ``*_value`` for a period given in the context
    (``start_datetime``/``end_datetime``) and again for the period before it,
    and prints both with the change in %.  The values are read from the
    report views with the recipient's rights (a team leader gets the teams
    they lead; a salesperson without the reports gets none of these KPIs)."""

    _inherit = "digest.digest"

    kpi_omnichannel_first_response = fields.Boolean("Median first response (hours)")
    kpi_omnichannel_first_response_value = fields.Float(
        compute="_compute_kpi_omnichannel_first_response_value"
    )
    kpi_omnichannel_sla_met = fields.Boolean("First response SLA met (%)")
    kpi_omnichannel_sla_met_value = fields.Float(
        compute="_compute_kpi_omnichannel_sla_met_value"
    )
    kpi_omnichannel_lost_waiting = fields.Boolean("Customers lost while waiting")
    kpi_omnichannel_lost_waiting_value = fields.Integer(
        compute="_compute_kpi_omnichannel_lost_waiting_value"
    )
    kpi_omnichannel_never_answered = fields.Boolean("Conversations never answered")
    kpi_omnichannel_never_answered_value = fields.Integer(
        compute="_compute_kpi_omnichannel_never_answered_value"
    )
    kpi_omnichannel_conversations = fields.Boolean("Conversations started")
    kpi_omnichannel_conversations_value = fields.Integer(
        compute="_compute_kpi_omnichannel_conversations_value"
    )

    def _omnichannel_kpi_read(self, model, aggregate, date_field="date", domain=()):
        """``aggregate`` of the report ``model`` over the digest's period and
        companies, per digest (the digest's company, else the current one).
        Medians are the reports' own (``percentile_cont``)."""
        if not self.env.user.has_group(
            "omnichannel_inbox.group_omnichannel_team_leader"
        ):
            raise AccessError(
                self.env._("Do not have access, skip this data for user's digest email")
            )
        start, end, companies = self._get_kpi_compute_parameters()
        rows = self.env[model]._read_group(
            [
                ("company_id", "in", companies.ids),
                (date_field, ">=", start),
                (date_field, "<", end),
                *domain,
            ],
            ["company_id"],
            [aggregate],
        )
        return {company.id: value for company, value in rows}

    def _omnichannel_kpi_set(self, field_name, values):
        for digest in self:
            digest[field_name] = (
                values.get((digest.company_id or self.env.company).id) or 0
            )

    def _compute_kpi_omnichannel_first_response_value(self):
        self._omnichannel_kpi_set(
            "kpi_omnichannel_first_response_value",
            self._omnichannel_kpi_read(
                "omnichannel.report.conversation", "first_response_hours_median:avg"
            ),
        )

    def _compute_kpi_omnichannel_sla_met_value(self):
        self._omnichannel_kpi_set(
            "kpi_omnichannel_sla_met_value",
            self._omnichannel_kpi_read(
                "omnichannel.report.conversation", "sla_compliance:avg"
            ),
        )

    def _compute_kpi_omnichannel_lost_waiting_value(self):
        # Leads lost in the period after a late first answer or none at all:
        # counted when they were lost, not when they came.
        late = self._omnichannel_kpi_read(
            "omnichannel.report.lead", "lost_late_count:sum", "date_closed"
        )
        unanswered = self._omnichannel_kpi_read(
            "omnichannel.report.lead", "lost_unanswered_count:sum", "date_closed"
        )
        self._omnichannel_kpi_set(
            "kpi_omnichannel_lost_waiting_value",
            {
                company_id: (late.get(company_id) or 0)
                + (unanswered.get(company_id) or 0)
                for company_id in set(late) | set(unanswered)
            },
        )

    def _compute_kpi_omnichannel_never_answered_value(self):
        self._omnichannel_kpi_set(
            "kpi_omnichannel_never_answered_value",
            self._omnichannel_kpi_read(
                "omnichannel.report.conversation", "never_answered_count:sum"
            ),
        )

    def _compute_kpi_omnichannel_conversations_value(self):
        self._omnichannel_kpi_set(
            "kpi_omnichannel_conversations_value",
            self._omnichannel_kpi_read("omnichannel.report.conversation", "__count"),
        )

    def _compute_kpis(self, company, user):
        """The total of conversations is split by channel under its name
        (the digest has one line per KPI and three periods per line: the
        split is the last 7 days', the period of the weekly digest)."""
        kpis = super()._compute_kpis(company, user)
        for kpi in kpis:
            if kpi["kpi_name"] == "kpi_omnichannel_conversations":
                split = (
                    self.with_user(user)
                    .with_company(company)
                    ._omnichannel_channel_split()
                )
                if split:
                    kpi["kpi_fullname"] = "{} ({})".format(kpi["kpi_fullname"], split)
        return kpis

    def _omnichannel_channel_split(self):
        labels = dict(
            self.env["omnichannel.channel"]
            ._fields["channel_type"]
            ._description_selection(self.env)
        )
        end = fields.Datetime.now()
        rows = self.env["omnichannel.report.conversation"]._read_group(
            [
                ("company_id", "in", (self.company_id or self.env.company).ids),
                # up to now included: Odoo's datetimes are whole seconds, and a
                # conversation begun this very second is part of the week
                ("date", ">=", end - relativedelta(weeks=1)),
                ("date", "<=", end),
            ],
            ["channel_type"],
            ["__count"],
            order="__count desc",
        )
        return ", ".join(
            f"{labels.get(channel_type, channel_type)} {count}"
            for channel_type, count in rows
        )

    def _compute_kpis_actions(self, company, user):
        res = super()._compute_kpis_actions(company, user)
        suffix = "?menu_id={}".format(self.env.ref("crm.crm_menu_root").id)
        for name in ("first_response", "sla_met", "never_answered", "conversations"):
            res[KPI_PREFIX + name] = (
                "omnichannel_inbox.omnichannel_report_conversation_action" + suffix
            )
        res[KPI_PREFIX + "lost_waiting"] = (
            "omnichannel_inbox.omnichannel_report_lead_lost_late_action" + suffix
        )
        return res
