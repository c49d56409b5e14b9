import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("omnichannel_dashboard_trends_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The median first response is shown beside the previous period",
            trigger: ".o_omnichannel_dashboard_comparison [data-name=kpi_omnichannel_first_response] .o_omnichannel_kpi_previous",
        },
        {
            content: "The median first response trend is drawn",
            trigger: ".o_omnichannel_trend_chart[data-name=first_response] canvas",
        },
        {
            content: "The SLA trend is drawn",
            trigger: ".o_omnichannel_trend_chart[data-name=sla_met] canvas",
        },
        {
            content: "The trend of customers lost while waiting is drawn",
            trigger: ".o_omnichannel_trend_chart[data-name=lost_waiting] canvas",
        },
        {
            content: "The existing cards are still there",
            trigger: ".o_omnichannel_dashboard_card[data-name=first_response]",
        },
        {
            content: "Per week over 90 days",
            trigger: ".o_control_panel button:contains(90)",
            run: "click",
        },
        {
            content: "Still three charts, now per week",
            trigger: ".o_omnichannel_dashboard_trends:has(.o_omnichannel_trend_chart canvas) ",
        },
    ],
});
