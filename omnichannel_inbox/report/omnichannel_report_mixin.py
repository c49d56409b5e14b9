import pytz

from odoo import api, fields, models
from odoo.orm.models import parse_read_group_spec
from odoo.tools import SQL

from odoo.addons.omnichannel_inbox import connectors

#: Channel families used by the reports (channel switching), from the kind
#: each connector declares; the other kinds (SMS, website) are neither.
MESSENGER_TYPES = tuple(
    cls.code
    for cls in connectors.connector_classes()
    if cls.kind in ("messenger", "sandbox", "livechat")
)
VOICE_EMAIL_TYPES = tuple(
    cls.code for cls in connectors.connector_classes() if cls.kind in ("email", "phone")
)

WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("7", "Sunday"),
]


class OmnichannelReportMixin(models.AbstractModel):
    """Shared by the SQL-view reports: medians in pivots and graphs, and the
    reader's timezone for weekdays and hours.

    A median is a measure field whose ``avg`` aggregate is replaced by
    PostgreSQL's ``percentile_cont(0.5)`` over the same column: the pivot
    asks for ``field:avg`` as for any measure and gets the median of each
    cell, computed in SQL like the averages."""

    _name = "omnichannel.report.mixin"
    _description = "Omnichannel report tools"

    #: measure fields aggregated as a median
    _median_fields = ()

    # The dimensions every report is read by.
    channel_id = fields.Many2one(
        "omnichannel.channel", "Channel account", readonly=True
    )
    channel_type = fields.Selection(
        selection="_channel_type_selection", string="Channel", readonly=True
    )
    company_id = fields.Many2one("res.company", "Company", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales team", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    lead_id = fields.Many2one("crm.lead", "Lead", readonly=True)
    source_id = fields.Many2one("utm.source", "Source", readonly=True)

    @api.model
    def _channel_type_selection(self):
        return self.env["omnichannel.channel"]._fields["channel_type"].selection

    @api.model
    def _report_tz(self):
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        return tz if tz in pytz.all_timezones_set else "UTC"

    @api.model
    def _local_time_sql(self, column):
        """SQL of a naive UTC ``column`` in the reader's timezone."""
        return SQL(
            "((%s AT TIME ZONE 'UTC') AT TIME ZONE %s)", SQL(column), self._report_tz()
        )

    @api.model
    def _weekday_hour_sql(self, column):
        local = self._local_time_sql(column)
        return SQL(
            "EXTRACT(ISODOW FROM %(t)s)::int::text AS weekday, to_char(%(t)s, 'HH24') "
            "AS hour",
            t=local,
        )

    @api.model
    def _conversation_columns_sql(self):
        """The first columns of a report with one row per conversation
        ``c`` (dated by its first customer message) joined to its lead
        ``l``: the row's id, the conversation, the date and the dimensions
        above."""
        return SQL(
            """c.id AS id,
                   c.id AS conversation_id,
                   c.first_customer_message_date AS date,
                   c.channel_id,
                   c.channel_type,
                   c.company_id,
                   c.team_id,
                   c.user_id,
                   c.partner_id,
                   c.lead_id,
                   l.source_id"""
        )

    @api.model
    def _hours_sql(self, seconds_column, name):
        """Columns ``name`` and ``name``_median: a wait in seconds shown in
        hours, twice, so that a pivot offers both its average and its
        median (``_median_fields``) of the same values."""
        hours = SQL("%s / 3600.0::float8", SQL(seconds_column))
        return SQL(
            "%s AS %s, %s AS %s",
            hours,
            SQL.identifier(name),
            hours,
            SQL.identifier(f"{name}_median"),
        )

    @api.model
    def _sla_measures_sql(self, status_column):
        """Columns sla_compliance and sla_breached_count of an SLA status
        (met, breached, or another value or none): compliance is 100 when
        met, 0 when breached and empty otherwise, so that its average is the
        share of the deadlines that were met among those that were decided;
        every report with an SLA counts them alike."""
        return SQL(
            """CASE %(status)s WHEN 'met' THEN 100.0::float8 WHEN 'breached' THEN
                       0.0::float8 END AS sla_compliance,
                   CASE WHEN %(status)s = 'breached' THEN 1 ELSE 0 END AS
                       sla_breached_count""",
            status=SQL(status_column),
        )

    def _read_group_select(self, aggregate_spec, query):
        fname, _property, func = parse_read_group_spec(aggregate_spec)
        if fname in self._median_fields and func == "avg":
            return SQL(
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)",
                self._field_to_sql(self._table, fname, query),
            )
        return super()._read_group_select(aggregate_spec, query)
