import { registry } from "@web/core/registry";

/* An administrator sees an unreadable request on the dashboard, opens it and
 * reads it again with the installed connectors: its message is journaled. */
registry.category("web_tour.tours").add("omnichannel_journal_unreadable_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The dashboard counts the unreadable request",
            trigger: ".o_omnichannel_dashboard_card[data-name=unreadable] .o_omnichannel_dashboard_value:contains(1)",
            run: "click",
        },
        {
            content: "The journal lists it, filtered on Unreadable",
            trigger: ".o_data_row .o_field_badge:contains(Unreadable)",
            run: "click",
        },
        {
            content: "Its body is kept as it came",
            trigger: ".o_notebook .nav-link:contains(Request)",
            run: "click",
        },
        {
            content: "with the customer's words in it",
            trigger: ".o_field_widget[name=raw_body]:contains(kept for an upgrade)",
        },
        {
            content: "Read it again",
            trigger: ".o_form_statusbar button:contains(Read again)",
            run: "click",
        },
        {
            content: "Its event is journaled and processed",
            trigger: ".o_data_row .o_field_badge:contains(Done)",
        },
    ],
});
