from datetime import timedelta

from odoo import api, fields, models


class OmnichannelDashboard(models.AbstractModel):
    """Figures of the sales head's dashboard, read from the report views
    with the reader's access rights (a team leader sees their teams')."""

    _name = "omnichannel.dashboard"
    _description = "Omnichannel dashboard"

    @api.model
    def get_dashboard_data(self, days=30):
        days = max(1, min(int(days or 30), 3660))
        date_from = fields.Datetime.now() - timedelta(days=days)
        Conversation = self.env["omnichannel.report.conversation"]
        Response = self.env["omnichannel.report.response"]
        Lead = self.env["omnichannel.report.lead"]
        conversation_measures = [
            "__count",
            "first_response_hours:avg",
            "first_response_hours_median:avg",
            "first_response_business_hours:avg",
            "never_answered_count:sum",
            "sla_compliance:avg",
            "channel_switch_count:sum",
        ]
        response_measures = [
            "__count",
            "response_hours:avg",
            "response_hours_median:avg",
            "business_hours:avg",
            "sla_compliance:avg",
        ]
        lead_measures = [
            "__count",
            "won_count:sum",
            "won_revenue:sum",
            "conversion_rate:avg",
            "lost_late_count:sum",
            "lost_unanswered_count:sum",
        ]

        def totals(model, measures):
            return dict(
                zip(
                    measures,
                    model._read_group([("date", ">=", date_from)], [], measures)[0],
                    strict=False,
                )
            )

        def by_channel(model, measures):
            return {
                row[0]: dict(zip(measures, row[1:], strict=False))
                for row in model._read_group(
                    [("date", ">=", date_from)], ["channel_type"], measures
                )
            }

        channel_labels = dict(
            self.env["omnichannel.channel"]
            ._fields["channel_type"]
            ._description_selection(self.env)
        )
        conversations = by_channel(Conversation, conversation_measures)
        responses = by_channel(Response, response_measures)
        leads = by_channel(Lead, lead_measures)
        channels = [
            {
                "channel_type": channel_type,
                "label": channel_labels.get(channel_type, channel_type or ""),
                "conversations": conversations.get(channel_type, {}),
                "responses": responses.get(channel_type, {}),
                "leads": leads.get(channel_type, {}),
            }
            for channel_type in sorted(
                set(conversations) | set(responses) | set(leads), key=lambda t: t or ""
            )
        ]
        open_conversations = self.env["omnichannel.conversation"]
        journal = self.env["omnichannel.inbound.event"]
        return {
            "days": days,
            "currency_id": self.env.company.currency_id.id,
            "conversations": totals(Conversation, conversation_measures),
            "responses": totals(Response, response_measures),
            "leads": totals(Lead, lead_measures),
            "waiting_now": open_conversations.search_count([("state", "=", "open")]),
            "overdue_now": open_conversations.search_count(
                [("state", "=", "open"), ("sla_deadline", "<", fields.Datetime.now())]
            ),
            "channels": sorted(
                channels, key=lambda c: -(c["conversations"].get("__count") or 0)
            ),
            # Requests no connector could read (whatever the period): for
            # those who may open the inbound journal.
            "journal_unreadable": journal.search_count([("state", "=", "unreadable")])
            if journal.has_access("read")
            else None,
        }

    # ------------------------------------------------------------------
    # Stuck work (issue 11): what an administrator must look at now
    # ------------------------------------------------------------------
    @api.model
    def get_stuck_work_data(self):
        """Counts of work that does not move on its own, each with the list
        it opens.  Read with the reader's rights: the journal and the alerts
        are for Omnichannel managers and administrators; others get nothing."""
        if not self.env.user.has_group("omnichannel_inbox.group_omnichannel_manager"):
            return []
        labels = {
            "alerts": self.env._("Open alerts"),
            "journal_stuck": self.env._("Journal entries out of retries"),
            "journal_retrying": self.env._("Journal entries waiting for a retry"),
            "replies_failed": self.env._("Replies that could not be sent (7 days)"),
            "replies_queued": self.env._("Replies waiting for a retry"),
            "files_pending": self.env._("Files still downloading"),
            "files_failed": self.env._("Files that could not be downloaded"),
        }
        week_ago = fields.Datetime.to_string(fields.Datetime.now() - timedelta(days=7))
        lines = [
            ("alerts", "omnichannel.alert", [("state", "=", "open")]),
            (
                "journal_stuck",
                "omnichannel.inbound.event",
                [("state", "=", "error"), ("next_attempt_date", "=", False)],
            ),
            (
                "journal_retrying",
                "omnichannel.inbound.event",
                [("state", "=", "error"), ("next_attempt_date", "!=", False)],
            ),
            (
                "replies_failed",
                "omnichannel.message",
                [
                    ("direction", "=", "out"),
                    ("status", "=", "failed"),
                    ("date", ">=", week_ago),
                ],
            ),
            (
                "replies_queued",
                "omnichannel.message",
                [
                    ("direction", "=", "out"),
                    ("status", "=", "queued"),
                    ("next_send_date", "!=", False),
                ],
            ),
            (
                "files_pending",
                "omnichannel.attachment.download",
                [("state", "=", "pending")],
            ),
            (
                "files_failed",
                "omnichannel.attachment.download",
                [("state", "=", "failed")],
            ),
        ]
        return [
            {
                "name": name,
                "label": labels[name],
                "count": self.env[model].search_count(domain),
                "action": {
                    "name": labels[name],
                    "res_model": model,
                    "domain": domain,
                    "views": [[False, "list"], [False, "form"]],
                },
            }
            for name, model, domain in lines
        ]
