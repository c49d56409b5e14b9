import { registry } from "@web/core/registry";

/* The salesperson works in CRM when the PBX rings their extension (the test
 * posts the fake PBX event meanwhile): the popup shows who calls, their open
 * lead and their last messages, opens the lead, and closes by itself when
 * someone else answers. */
registry.category("web_tour.tours").add("omnichannel_call_popup_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The phone rings: the popup shows the caller's number",
            trigger: ".o_omnichannel_call_popup .o_omnichannel_call_popup_number:contains(+7 912 345)",
            timeout: 60000,
        },
        {
            content: "The popup lies within the window, on a phone too",
            trigger: ".o_omnichannel_call_popup .o_omnichannel_call_popup_open_lead",
            run() {
                const box = document.querySelector(".o_omnichannel_call_popups").getBoundingClientRect();
                if (box.left < 0 || box.right > window.innerWidth || box.bottom > window.innerHeight) {
                    throw new Error(
                        `the popup (${Math.round(box.left)},${Math.round(box.top)})-(${Math.round(box.right)},${Math.round(box.bottom)}) leaves the ${window.innerWidth}x${window.innerHeight} window`
                    );
                }
            },
        },
        {
            content: "the customer",
            trigger: ".o_omnichannel_call_popup .o_omnichannel_call_popup_customer:contains(Ivan Petrov)",
        },
        {
            content: "their open lead",
            trigger: ".o_omnichannel_call_popup .o_omnichannel_call_popup_lead:contains(Ivan: 20 office desks)",
        },
        {
            content: "and what they wrote in the website chat",
            trigger: ".o_omnichannel_call_popup_message:contains(Website chat):contains(Do you deliver the desks on Saturday?)",
        },
        {
            content: "A known customer has no 'Create a lead' button",
            trigger: ".o_omnichannel_call_popup:not(:has(.o_omnichannel_call_popup_create_lead))",
        },
        {
            content: "Open the lead from the popup",
            trigger: ".o_omnichannel_call_popup .o_omnichannel_call_popup_open_lead",
            run: "click",
        },
        {
            content: "The lead's form is open",
            // its name field, not the breadcrumb: a phone shows the title in the navbar
            trigger: ".o_form_view .o_field_widget[name=name] textarea:value(Ivan: 20 office desks)",
        },
        {
            content: "Star the lead (the test's PBX then has someone else answer)",
            trigger: ".o_form_view .o_field_widget[name=priority] .o_priority_star:first",
            run: "click",
        },
        {
            content: "Answered on another phone: the popup closes by itself",
            trigger: "body:not(:has(.o_omnichannel_call_popup))",
            timeout: 60000,
        },
    ],
});
