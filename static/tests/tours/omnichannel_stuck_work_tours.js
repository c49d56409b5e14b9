import { registry } from "@web/core/registry";

/* A photo the file server would not give: the text is there, the placeholder
 * says why, Retry puts it back in the queue; a queued reply says when it is
 * tried again. */
registry.category("web_tour.tours").add("omnichannel_file_placeholder_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The customer's text is in the chat panel",
            trigger: ".o_omnichannel_message_in .o_omnichannel_body:contains(Вот такой диван)",
        },
        {
            content: "Its photo says it could not be downloaded, and why",
            trigger: ".o_omnichannel_pending_file[data-state=failed]:contains(could not be downloaded):contains(Bad Gateway)",
        },
        {
            content: "Retry",
            trigger: ".o_omnichannel_pending_file[data-state=failed] .o_omnichannel_retry_file",
            run: "click",
        },
        {
            content: "The photo is downloading again",
            trigger: ".o_omnichannel_pending_file[data-state=pending]:contains(photo):contains(downloading)",
        },
        {
            content: "A queued reply says when it is tried again",
            trigger: ".o_omnichannel_message_out[data-status=queued] .o_omnichannel_next_try:contains(Next try at)",
        },
    ],
});

/* The dashboard counts stuck work and opens it. */
registry.category("web_tour.tours").add("omnichannel_stuck_work_dashboard_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The journal entry out of retries is counted",
            trigger: ".o_omnichannel_dashboard_stuck [data-name=journal_stuck] .o_omnichannel_stuck_count:contains(1)",
        },
        {
            content: "Open it",
            trigger: ".o_omnichannel_dashboard_stuck [data-name=journal_stuck]",
            run: "click",
        },
        {
            content: "The stuck entry is listed",
            trigger: ".o_list_view .o_data_row:contains(tour-stuck)",
        },
    ],
});
