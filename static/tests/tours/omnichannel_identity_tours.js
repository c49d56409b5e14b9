import { registry } from "@web/core/registry";

/* A Sandbox visitor typed a known customer's email: the lead of the visitor
 * shows a suggestion, not the customer's history; the salesperson confirms,
 * and the histories are one. */
registry.category("web_tour.tours").add("omnichannel_identity_suggestion_tour", {
    timeout: 30000,
    steps: () => [
        {
            content: "The visitor's own message is in the panel",
            trigger: ".o_omnichannel_chat_panel .o_omnichannel_body:contains(Это Иван, пришлите счёт)",
        },
        {
            content: "The suggestion says who the visitor may be, and why",
            trigger: ".o_omnichannel_suggestion:contains(May be Ivan Petrov: same email)",
        },
        {
            content: "The other customer's history stays hidden until confirmed",
            trigger: ".o_omnichannel_chat_panel:not(:has(.o_omnichannel_body:contains(Lenina 5)))",
        },
        {
            content: "A contact card in the message can be saved as a new contact",
            trigger: ".o_omnichannel_card:contains(Olga Card) .o_omnichannel_card_save",
            run: "click",
        },
        {
            content: "The card is saved",
            trigger: ".o_omnichannel_card:contains(Olga Card) .o_omnichannel_card_saved",
        },
        {
            content: "Confirm: it is Ivan",
            trigger: ".o_omnichannel_suggestion_confirm",
            run: "click",
        },
        {
            content: "The banner is gone and Ivan's history is shown",
            trigger: ".o_omnichannel_chat_panel:not(:has(.o_omnichannel_suggestion)) .o_omnichannel_body:contains(Lenina 5)",
        },
    ],
});
