import { registry } from "@web/core/registry";

/* A salesperson hands a customer over from the inbox to a colleague, with a note. */
registry.category("web_tour.tours").add("omnichannel_transfer_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "Open the conversation of Иван Петров",
            trigger: ".o_omnichannel_inbox_item:contains(Иван Петров)",
            run: "click",
        },
        {
            content: "Transfer it",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_inbox_transfer",
            run: "click",
        },
        {
            content: "To Bob",
            trigger: ".modal .o_field_widget[name=user_id] input",
            run: "edit Bob Transfer",
        },
        {
            content: "Pick him",
            trigger: ".o-autocomplete--dropdown-item:contains(Bob Transfer)",
            run: "click",
        },
        {
            content: "With a note",
            trigger: ".modal .o_field_widget[name=note] textarea",
            run: "edit Wants 40 chairs, call after 3 pm",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The dialog is closed",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
