import { registry } from "@web/core/registry";

/* A salesperson opens a lead: the customer's call is in the history with its
 * outcome, talk time and recording; the phone button calls the customer back. */
registry.category("web_tour.tours").add("omnichannel_call_panel_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The call is an entry of the lead's chat panel",
            trigger: ".o_omnichannel_chat_panel .o_omnichannel_message_in .o_omnichannel_call[data-call-state=ended]",
        },
        {
            content: "with the number, who answered and how long it lasted",
            trigger: ".o_omnichannel_call .o_omnichannel_call_title:contains(+7 912 345)",
        },
        {
            content: "answered by the salesperson of extension 101",
            trigger: ".o_omnichannel_call .o_omnichannel_call_outcome:contains(Answered by Anna Seller)",
        },
        {
            content: "talk time",
            trigger: ".o_omnichannel_call .o_omnichannel_call_duration:contains(1:35)",
        },
        {
            content: "and the recording plays in the browser",
            trigger: ".o_omnichannel_call audio.o_omnichannel_call_recording[src*='/web/content/'][controls]",
        },
        {
            content: "The lead form has a phone button",
            trigger: ".o_form_view button[name=action_omnichannel_call]",
        },
        {
            content: "Call the customer back from the chat panel",
            trigger: ".o_omnichannel_chat_panel .o_omnichannel_call_button:enabled",
            run: "click",
        },
        {
            content: "Odoo says the salesperson's phone rings first",
            trigger: ".o_notification:contains(rings first)",
        },
        {
            content: "and the outgoing call joins the history",
            trigger: ".o_omnichannel_message_out .o_omnichannel_call .o_omnichannel_call_title:contains(Outgoing call)",
        },
    ],
});
