import { registry } from "@web/core/registry";

/* Fails the step when the page scrolls sideways or `selector` lies outside
 * the window: what a salesperson on a phone could not reach. */
function assertOnScreen(selector) {
    const overflow = document.documentElement.scrollWidth - window.innerWidth;
    if (overflow > 1) {
        throw new Error(`the page scrolls ${overflow}px sideways at ${window.innerWidth}px`);
    }
    for (const el of document.querySelectorAll(selector)) {
        const box = el.getBoundingClientRect();
        if (box.left < 0 || box.right > window.innerWidth + 1 || box.width === 0) {
            throw new Error(
                `${selector} lies at ${Math.round(box.left)}..${Math.round(box.right)}px, outside the ${window.innerWidth}px window`
            );
        }
    }
}

/* On a phone: the salesperson reads a Telegram customer's history in the
 * lead's Chat tab, answers, then finds the conversation in the inbox. */
registry.category("web_tour.tours").add("omnichannel_mobile_chat_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "Open the lead's Chat tab",
            trigger: ".o_notebook_headers a[name=omnichannel_chat]",
            run: "click",
        },
        {
            content: "The customer's history is there",
            trigger: ".o_omnichannel_chat_panel .o_omnichannel_message_in .o_omnichannel_body:contains(Сколько стоит доставка)",
        },
        {
            content: "The composer and its Send button fit the phone's screen",
            trigger: ".o_omnichannel_chat_panel .o_omnichannel_send",
            run: () => assertOnScreen(".o_omnichannel_chat_panel, .o_omnichannel_input, .o_omnichannel_send, .o_omnichannel_target"),
        },
        {
            content: "Write a reply",
            trigger: ".o_omnichannel_input",
            run: "edit Доставка бесплатная",
        },
        {
            content: "Send it",
            trigger: ".o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "The reply is in the history, sent",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Доставка бесплатная)",
        },
        {
            content: "Open the inbox from the systray",
            trigger: ".o_omnichannel_systray button",
            run: "click",
        },
        {
            content: "Show the conversations waiting for the customer",
            trigger: ".o_omnichannel_inbox_filter[data-filter=customer]",
            run: "click",
        },
        {
            content: "The list takes the screen, the filters fit",
            trigger: ".o_omnichannel_inbox_filter.active[data-filter=customer]",
            run: () => assertOnScreen(".o_omnichannel_inbox_sidebar, .o_omnichannel_inbox_filter, .o_omnichannel_inbox_search"),
        },
        {
            content: "Open Anna's conversation",
            trigger: ".o_omnichannel_inbox_item:contains(Anna Smirnova)",
            run: "click",
        },
        {
            content: "The conversation replaces the list and shows the reply",
            trigger: ".o_omnichannel_inbox_main .o_omnichannel_message_out .o_omnichannel_body:contains(Доставка бесплатная)",
        },
        {
            content: "The list is hidden, the conversation and its composer fit the screen",
            trigger: ".o_omnichannel_inbox:not(:has(.o_omnichannel_inbox_sidebar:visible)) .o_omnichannel_inbox_main .o_omnichannel_send",
            run: () => assertOnScreen(".o_omnichannel_inbox_main, .o_omnichannel_inbox_main .o_omnichannel_send, .o_omnichannel_inbox_close"),
        },
        {
            content: "Back to the list",
            trigger: ".o_omnichannel_inbox_back",
            run: "click",
        },
        {
            content: "The list is back",
            trigger: ".o_omnichannel_inbox_sidebar .o_omnichannel_inbox_item:contains(Anna Smirnova)",
        },
    ],
});
