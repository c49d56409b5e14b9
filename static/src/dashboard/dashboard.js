import { Component, onWillStart, useState, useSubEnv } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formatMonetary } from "@web/views/fields/formatters";
import { useService } from "@web/core/utils/hooks";
import { useSetupAction } from "@web/search/action_hook";
import { Layout } from "@web/search/layout";
import { getDefaultConfig } from "@web/views/view";
import { formatDuration } from "@omnichannel_inbox/inbox/duration";
import { formatFloat } from "@web/views/fields/formatters";
import { OmnichannelTrendChart } from "./trend_chart";

const PERIODS = [
    { days: 7, label: _t("7 days") },
    { days: 30, label: _t("30 days") },
    { days: 90, label: _t("90 days") },
    { days: 365, label: _t("12 months") },
];

/** The sales head's overview: response times, SLA, unanswered requests and
 * conversion by channel over a period; every figure opens its report. */
export class OmnichannelDashboard extends Component {
    static template = "omnichannel_inbox.Dashboard";
    static components = { Layout, OmnichannelTrendChart };
    static props = ["*"];

    setup() {
        useSubEnv({ config: { ...getDefaultConfig(), ...this.env.config } });
        useSetupAction();
        this.orm = useService("orm");
        this.action = useService("action");
        this.periods = PERIODS;
        this.state = useState({ days: 30, data: null, stuck: [], comparison: [], trends: null });
        onWillStart(() => this.load());
    }

    async load(days = this.state.days) {
        const [data, stuck, comparison, trends] = await Promise.all([
            this.orm.call("omnichannel.dashboard", "get_dashboard_data", [], { days }),
            this.orm.call("omnichannel.dashboard", "get_stuck_work_data", []),
            this.orm.call("omnichannel.dashboard", "get_period_comparison", [], { days }),
            this.orm.call("omnichannel.dashboard", "get_trend_data", [], { days }),
        ]);
        this.state.data = data;
        this.state.stuck = stuck;
        this.state.comparison = comparison;
        this.state.trends = trends;
        this.state.days = days;
    }

    /** A figure of the digest as it prints it: floats with two decimals. */
    kpiValue(kpi, value) {
        return kpi.type === "float" ? formatFloat(value, { digits: [16, 2] }) : String(value);
    }

    get trendCharts() {
        const { series, labels } = this.state.trends;
        // One colour per channel in every chart.
        const channels = [...new Set(Object.values(series).flatMap((lines) => lines.map((l) => l.channel_type)))];
        const colored = (lines) =>
            lines.map((line) => ({ ...line, color: channels.indexOf(line.channel_type), palette: channels.length }));
        return [
            { name: "first_response", title: _t("Median first response (hours)"), series: colored(series.first_response) },
            { name: "sla_met", title: _t("First response SLA met (%)"), series: colored(series.sla_met), suggestedMax: 100 },
            { name: "lost_waiting", title: _t("Customers lost while waiting"), series: colored(series.lost_waiting) },
        ].map((chart) => ({ ...chart, labels }));
    }

    /** A stuck-work line opens the records it counts. */
    openStuck(line) {
        this.action.doAction({ type: "ir.actions.act_window", target: "current", ...line.action });
    }

    hours(value) {
        return value === null || value === undefined || value === false ? "-" : formatDuration(value * 3600);
    }

    percent(value) {
        return value === null || value === undefined || value === false ? "-" : `${Math.round(value)} %`;
    }

    money(value) {
        return formatMonetary(value || 0, { currencyId: this.state.data.currency_id });
    }

    get cards() {
        const { conversations: c, responses: r, leads: l } = this.state.data;
        return [...this.figureCards(c, r, l), ...this.journalCards()];
    }

    /** What the inbound journal keeps unread, for those who may open it. */
    journalCards() {
        const unreadable = this.state.data.journal_unreadable;
        if (unreadable === null || unreadable === undefined) {
            return [];
        }
        return [
            {
                name: "unreadable",
                label: _t("Unreadable requests"),
                value: String(unreadable),
                hint: _t("kept in the inbound journal: read them again after an upgrade"),
                report: "omnichannel_inbound_event_action_unreadable",
            },
        ];
    }

    figureCards(c, r, l) {
        return [
            {
                name: "first_response",
                label: _t("First response (average)"),
                value: this.hours(c["first_response_hours:avg"]),
                hint: _t("median %(median)s, in business hours %(business)s", {
                    median: this.hours(c["first_response_hours_median:avg"]),
                    business: this.hours(c["first_response_business_hours:avg"]),
                }),
                report: "omnichannel_report_conversation_action",
            },
            {
                name: "reply_time",
                label: _t("Reply time (average)"),
                value: this.hours(r["response_hours:avg"]),
                hint: _t("median %(median)s over %(count)s replies", {
                    median: this.hours(r["response_hours_median:avg"]),
                    count: r.__count,
                }),
                report: "omnichannel_report_response_action",
            },
            {
                name: "sla",
                label: _t("First response SLA compliance"),
                value: this.percent(c["sla_compliance:avg"]),
                hint: _t("all replies: %s", this.percent(r["sla_compliance:avg"])),
                report: "omnichannel_report_conversation_action",
            },
            {
                name: "never_answered",
                label: _t("Never answered"),
                value: _t("%(count)s of %(total)s", { count: c["never_answered_count:sum"], total: c.__count }),
                hint: _t("waiting now: %(waiting)s, overdue: %(overdue)s", {
                    waiting: this.state.data.waiting_now,
                    overdue: this.state.data.overdue_now,
                }),
                report: "omnichannel_report_conversation_action",
            },
            {
                name: "won",
                label: _t("Won leads"),
                value: _t("%(count)s of %(total)s", { count: l["won_count:sum"], total: l.__count }),
                hint: _t("conversion %s", this.percent(l["conversion_rate:avg"])),
                report: "omnichannel_report_lead_action",
            },
            {
                name: "revenue",
                label: _t("Won revenue"),
                value: this.money(l["won_revenue:sum"]),
                hint: "",
                report: "omnichannel_report_lead_action",
            },
            {
                name: "lost_late",
                label: _t("Lost after a late or no answer"),
                value: String(l["lost_late_count:sum"] + l["lost_unanswered_count:sum"]),
                hint: _t("%(late)s late, %(unanswered)s unanswered", {
                    late: l["lost_late_count:sum"],
                    unanswered: l["lost_unanswered_count:sum"],
                }),
                report: "omnichannel_report_lead_lost_late_action",
            },
            {
                name: "switches",
                label: _t("From a messenger to phone or email"),
                value: String(c["channel_switch_count:sum"]),
                hint: "",
                report: "omnichannel_report_channel_switch_action",
            },
        ];
    }

    open(xmlid) {
        this.action.doAction(`omnichannel_inbox.${xmlid}`);
    }
}

registry.category("actions").add("omnichannel_inbox.dashboard", OmnichannelDashboard);
