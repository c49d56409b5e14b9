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

/* In the inbox: a request waiting for qualification is marked, its spam
   hint shown, and Spam blocks it. */
registry.category("web_tour.tours").add("omnichannel_qualification_inbox_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The real request waits for qualification",
            trigger:
                ".o_omnichannel_inbox_item:contains(Иван Петров) .o_omnichannel_inbox_qualification:contains(To qualify)",
        },
        {
            content: "Open the request that looks like spam",
            trigger: ".o_omnichannel_inbox_item:contains(Spam Sender)",
            run: "click",
        },
        {
            content: "Why it looks like spam",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_inbox_spam_hint:contains(only links)",
        },
        {
            content: "It is spam",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_inbox_spam",
            run: "click",
        },
        {
            content: "No more hint: the sender is blocked",
            trigger: "body:not(:has(.o_omnichannel_inbox_spam_hint))",
        },
    ],
});
