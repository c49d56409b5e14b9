import { registry } from "@web/core/registry";

/* A salesperson works the inbox: filters their conversations, opens one,
 * answers with a canned response, and sees their counter drop. */
registry.category("web_tour.tours").add("omnichannel_inbox_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "Two conversations wait for me",
            trigger: ".o_omnichannel_systray_counter:contains(2)",
        },
        {
            content: "Show only mine",
            trigger: ".o_omnichannel_inbox_filter[data-filter=mine]",
            run: "click",
        },
        {
            content: "Mine: the longest waiting first, the unassigned one is not there",
            trigger: ".o_omnichannel_inbox_filter.active[data-filter=mine] .o_omnichannel_inbox_filter_count:contains(2)",
        },
        {
            content: "The unassigned customer is filtered out",
            trigger: ".o_omnichannel_inbox_list:not(:has(.o_omnichannel_inbox_customer:contains(Unassigned Visitor)))",
        },
        {
            content: "Open the conversation of Иван Петров (it has unread messages)",
            trigger: ".o_omnichannel_inbox_item:has(.o_omnichannel_inbox_unread):contains(Иван Петров)",
            run: "click",
        },
        {
            content: "His message is in the chat panel",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_message_in .o_omnichannel_body:contains(Сколько стоят кресла)",
        },
        {
            content: "Type the shortcut of a canned response",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_input",
            run: "edit ::than",
        },
        {
            content: "Pick it",
            trigger: ".o_omnichannel_canned_item[data-source=thanks]",
            run: "click",
        },
        {
            content: "It is in the composer, filled for this customer",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_input:value(Спасибо, Иван! Я Olga Smirnova, пришлю цены сегодня.)",
        },
        {
            content: "Send",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "The reply is in the history",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Спасибо, Иван!)",
        },
        {
            content: "One conversation waits for me now",
            trigger: ".o_omnichannel_systray_counter:contains(1)",
        },
        {
            content: "and the inbox no longer lists Иван Петров among mine",
            trigger: ".o_omnichannel_inbox_list:not(:has(.o_omnichannel_inbox_customer:contains(Иван Петров)))",
        },
    ],
});
