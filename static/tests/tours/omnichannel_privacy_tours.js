import { registry } from "@web/core/registry";

/* A manager forgets a customer from the contact form: the confirmation says
 * what goes before anything is erased, then the contact is forgotten. */
registry.category("web_tour.tours").add("omnichannel_forget_customer_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "Ask to forget the customer",
            trigger: "button[name=action_omnichannel_forget]",
            run: "click",
        },
        {
            content: "The confirmation counts the conversation to erase",
            trigger: ".modal .o_field_widget[name=conversation_count]:contains(1)",
        },
        {
            content: "and says that it cannot be undone",
            trigger: ".modal .alert-warning:contains(cannot be undone)",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_forget]",
            run: "click",
        },
        {
            content: "The confirmation closes",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
