import { registry } from "@web/core/registry";

/* A salesperson opens Incoming, sees which request looks like spam, and
   qualifies a real one from the list: it leaves the queue (the test checks
   that its lead was created and routed). */
registry.category("web_tour.tours").add("omnichannel_qualification_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The request made only of links is flagged",
            trigger:
                ".o_data_row:contains(Spam Sender) .o_data_cell[name=spam_hint]:contains(only links)",
        },
        {
            content: "What the customer wrote is shown in the list",
            trigger:
                ".o_data_row:contains(Иван Петров) .o_data_cell[name=qualification_text]:contains(40 кресел)",
        },
        {
            content: "The real request has no hint",
            trigger: ".o_data_row:contains(Иван Петров) .o_data_cell[name=spam_hint]:empty",
        },
        {
            content: "Qualify the request of Иван Петров",
            trigger: ".o_data_row:contains(Иван Петров) button[name=action_qualify]",
            run: "click",
        },
        {
            content: "It left Incoming; the spam-looking one still waits for a person",
            trigger:
                ".o_list_view:not(:has(.o_data_row:contains(Иван Петров))) .o_data_row:contains(Spam Sender)",
        },
    ],
});
