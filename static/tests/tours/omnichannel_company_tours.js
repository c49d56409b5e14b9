import { registry } from "@web/core/registry";

/* A salesperson says which company a customer works at, creating it from
 * the conversation's "Works at" field. */
registry.category("web_tour.tours").add("omnichannel_company_works_at_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "Type the company in Works at",
            trigger: ".o_field_widget[name=customer_company_id] input",
            run: "edit Nord Logistics",
        },
        {
            content: "Create it",
            trigger: ".o_field_widget[name=customer_company_id] .o_m2o_dropdown_option_create a, .o_field_widget[name=customer_company_id] .o_m2o_dropdown_option_create",
            run: "click",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved",
        },
    ],
});

/* The company's card: the conversations of its two contacts in one panel,
 * narrowed to one contact. */
registry.category("web_tour.tours").add("omnichannel_company_history_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "Open the company's chat",
            trigger: ".o_notebook .nav-link:contains(Channels)",
            run: "click",
        },
        {
            content: "Anna's message is there",
            trigger: ".o_omnichannel_body:contains(40 tonnes of rebar)",
        },
        {
            content: "Boris's message too",
            trigger: ".o_omnichannel_body:contains(delivery to Tula)",
        },
        {
            content: "Only Boris",
            trigger: ".o_omnichannel_contact_filter select",
            run: "selectByLabel Boris Petrov",
        },
        {
            content: "Anna's message is filtered out",
            trigger:
                ".o_omnichannel_chat_panel:not(:has(.o_omnichannel_body:contains(40 tonnes))) .o_omnichannel_body:contains(delivery to Tula)",
        },
    ],
});

/* A colleague's deal offers the company's open deal: the salesperson joins it. */
registry.category("web_tour.tours").add("omnichannel_company_join_deal_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The offer names the company's deal",
            trigger: ".o_omnichannel_company_offer:contains(Anna's deal)",
        },
        {
            content: "Join it",
            trigger: ".o_omnichannel_company_offer button[name=action_join_company_deal]",
            run: "click",
        },
        {
            content: "The company's deal opens",
            trigger: ".o_action:not(:has(.o_omnichannel_company_offer)) .o_breadcrumb:contains(Anna's deal)",
        },
    ],
});
