from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..models.digest_digest import KPI_PREFIX

#: Trends drawn per day up to this many days, per week beyond.
DAILY_UP_TO = 31


class OmnichannelDashboard(models.AbstractModel):
    """Period over period and trends of the dashboard (issue 17).  The
    figures beside the previous period are the digest's KPIs, computed by
    the digest's own compute methods: every Boolean ``kpi_omnichannel_*``
    field of ``digest.digest`` is one, whichever part of the addon added it."""

    _inherit = "omnichannel.dashboard"

    @api.model
    def get_period_comparison(self, days=30):
        days = max(1, min(int(days or 30), 3660))
        end = fields.Datetime.now()
        start, previous_start = (
            end - timedelta(days=days),
            end - timedelta(days=2 * days),
        )
        Digest = self.env["digest.digest"]
        current = Digest.with_context(start_datetime=start, end_datetime=end).new({})
        previous = Digest.with_context(
            start_datetime=previous_start, end_datetime=start
        ).new({})
        result = []
        for name, field in Digest._fields.items():
            value_field = Digest._fields.get(name + "_value")
            if (
                field.type != "boolean"
                or not name.startswith(KPI_PREFIX)
                or not value_field
            ):
                continue
            try:
                value, before = current[name + "_value"], previous[name + "_value"]
            except AccessError:  # the digest leaves it out of this reader's email too
                continue
            result.append(
                {
                    "name": name,
                    "label": field._description_string(self.env),
                    "type": value_field.type,
                    "value": value,
                    "previous": before,
                    "margin": Digest._get_margin_value(value, before),
                }
            )
        return result

    @api.model
    def get_trend_data(self, days=30):
        """Median first response (hours), first-response SLA met (%) and
        customers lost while waiting (leads lost after a late or no answer,
        by the day they were lost) per day, or per week beyond a month, by
        channel, read from the report views with the reader's rights."""
        days = max(1, min(int(days or 30), 3660))
        date_from = fields.Datetime.now() - timedelta(days=days)
        granularity = "day" if days <= DAILY_UP_TO else "week"
        labels = dict(
            self.env["omnichannel.channel"]
            ._fields["channel_type"]
            ._description_selection(self.env)
        )
        series = {"first_response": {}, "sla_met": {}, "lost_waiting": {}}
        for bucket, channel_type, median, sla in self.env[
            "omnichannel.report.conversation"
        ]._read_group(
            [("date", ">=", date_from)],
            [f"date:{granularity}", "channel_type"],
            ["first_response_hours_median:avg", "sla_compliance:avg"],
        ):
            series["first_response"].setdefault(channel_type, {})[bucket] = median
            series["sla_met"].setdefault(channel_type, {})[bucket] = sla
        for bucket, channel_type, late, unanswered in self.env[
            "omnichannel.report.lead"
        ]._read_group(
            [("date_closed", ">=", date_from)],
            [f"date_closed:{granularity}", "channel_type"],
            ["lost_late_count:sum", "lost_unanswered_count:sum"],
        ):
            series["lost_waiting"].setdefault(channel_type, {})[bucket] = (
                late + unanswered
            )
        buckets = sorted(
            {
                bucket
                for per_channel in series.values()
                for points in per_channel.values()
                for bucket in points
            }
        )
        return {
            "granularity": granularity,
            "labels": [fields.Date.to_string(bucket) for bucket in buckets],
            "series": {
                name: [
                    {
                        "channel_type": channel_type,
                        "label": labels.get(channel_type, channel_type or ""),
                        # A day without conversations has no median (a gap), and
                        # nobody lost (a zero).
                        "data": [
                            points.get(bucket, 0 if name == "lost_waiting" else None)
                            for bucket in buckets
                        ],
                    }
                    for channel_type, points in sorted(
                        per_channel.items(), key=lambda item: item[0] or ""
                    )
                ]
                for name, per_channel in series.items()
            },
        }
