from odoo import fields, models
from odoo.exceptions import AccessError


class DigestDigest(models.Model):
    """Repeat-request rate in the periodic digest: the share of the
    conversations begun in the period that repeat an earlier request."""

    _inherit = "digest.digest"

    kpi_omnichannel_repeat_rate = fields.Boolean("Repeat requests (%)")
    kpi_omnichannel_repeat_rate_value = fields.Float(
        compute="_compute_kpi_omnichannel_repeat_rate_value"
    )

    def _compute_kpi_omnichannel_repeat_rate_value(self):
        # The same readers as the other Omnichannel figures of the digest.
        if not self.env.user.has_group(
            "omnichannel_inbox.group_omnichannel_team_leader"
        ):
            raise AccessError(
                self.env._("Do not have access, skip this data for user's digest email")
            )
        start, end, companies = self._get_kpi_compute_parameters()
        rows = self.env["omnichannel.conversation"]._read_group(
            [
                ("company_id", "in", companies.ids),
                ("first_customer_message_date", ">=", start),
                ("first_customer_message_date", "<", end),
            ],
            ["company_id", "is_repeat"],
            ["__count"],
        )
        totals, repeats = {}, {}
        for company, is_repeat, count in rows:
            totals[company.id] = totals.get(company.id, 0) + count
            if is_repeat:
                repeats[company.id] = repeats.get(company.id, 0) + count
        for digest in self:
            company = digest.company_id or self.env.company
            total = totals.get(company.id, 0)
            digest.kpi_omnichannel_repeat_rate_value = (
                round(100.0 * repeats.get(company.id, 0) / total, 1) if total else 0.0
            )

    def _compute_kpis_actions(self, company, user):
        res = super()._compute_kpis_actions(company, user)
        res["kpi_omnichannel_repeat_rate"] = (
            "omnichannel_inbox.omnichannel_repeat_report_action?menu_id={}".format(
                self.env.ref("crm.crm_menu_root").id
            )
        )
        return res
