from odoo import fields, models
from odoo.exceptions import AccessError


class DigestDigest(models.Model):
    """Average satisfaction (CSAT, 1-5) of the surveys answered in the
    digest's period, per company - Odoo's digest shows it beside the
    previous period like its other KPIs."""

    _inherit = "digest.digest"

    kpi_omnichannel_csat = fields.Boolean("Customer satisfaction (CSAT)")
    kpi_omnichannel_csat_value = fields.Float(
        compute="_compute_kpi_omnichannel_csat_value", digits=(16, 2)
    )

    def _compute_kpi_omnichannel_csat_value(self):
        if not self.env.user.has_group(
            "omnichannel_inbox.group_omnichannel_team_leader"
        ):
            raise AccessError(
                self.env._("Do not have access, skip this data for user's digest email")
            )
        start, end, companies = self._get_kpi_compute_parameters()
        groups = self.env["omnichannel.conversation"]._read_group(
            [
                ("company_id", "in", companies.ids),
                ("csat_date", ">=", start),
                ("csat_date", "<", end),
                ("csat_score", ">", 0),
            ],
            ["company_id"],
            ["csat_score:avg"],
        )
        averages = {company.id: average for company, average in groups}
        for digest in self:
            company = digest.company_id or self.env.company
            digest.kpi_omnichannel_csat_value = averages.get(company.id, 0.0)

    def _compute_kpis_actions(self, company, user):
        res = super()._compute_kpis_actions(company, user)
        res["kpi_omnichannel_csat"] = (
            "omnichannel_inbox.omnichannel_report_csat_action?menu_id={}".format(
                self.env.ref("crm.crm_menu_root").id
            )
        )
        return res
