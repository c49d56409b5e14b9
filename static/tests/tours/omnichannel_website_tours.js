import { registry } from "@web/core/registry";

/* A visitor of the contact page looks at the messenger buttons, then
 * leaves a message with the form. */
registry.category("web_tour.tours").add("omnichannel_contact_form_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The widget offers to write to us",
            trigger: ".o_omnichannel_widget_toggle",
            run: "click",
        },
        {
            content: "Telegram opens the bot",
            trigger: ".o_omnichannel_widget_link[data-channel-type=telegram][href='https://t.me/tour_shop_bot']",
        },
        {
            content: "WhatsApp opens a chat with the number",
            trigger: ".o_omnichannel_widget_link[data-channel-type=whatsapp][href='https://wa.me/79123456789']",
        },
        {
            content: "The live chat is offered too",
            trigger: ".o_omnichannel_widget_link[data-channel-type=livechat][href*='/im_livechat/support/']",
        },
        {
            content: "Only the configured channels: no VK (no public handle), no Viber (archived)",
            trigger: ".o_omnichannel_widget_panel:not(:has([data-channel-type=vk])):not(:has([data-channel-type=viber]))",
            run() {
                const types = [...document.querySelectorAll(".o_omnichannel_widget_link")].map(
                    (link) => link.dataset.channelType
                );
                if (types.join(",") !== "telegram,whatsapp,livechat") {
                    throw new Error(`unexpected widget channels: ${types}`);
                }
            },
        },
        {
            content: "Close the widget",
            trigger: ".o_omnichannel_widget_toggle",
            run: "click",
        },
        {
            content: "Name",
            trigger: ".o_omnichannel_contact_form input[name=name]",
            run: "edit Tour Visitor",
        },
        {
            content: "Email",
            trigger: ".o_omnichannel_contact_form input[name=email]",
            run: "edit tour.visitor@client.example.org",
        },
        {
            content: "Phone",
            trigger: ".o_omnichannel_contact_form input[name=phone]",
            run: "edit +7 912 700-00-01",
        },
        {
            content: "Message",
            trigger: ".o_omnichannel_contact_form textarea[name=message]",
            run: "edit I would like a quote for 12 desks",
        },
        {
            content: "Send",
            trigger: ".o_omnichannel_contact_send",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Thanked",
            trigger: ".o_omnichannel_contact_thanks:contains(Thank you)",
        },
    ],
});

/* A salesperson answers a customer by email from the lead's chat panel. */
registry.category("web_tour.tours").add("omnichannel_reply_by_email_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The customer's email is in the history, with its subject",
            trigger: ".o_omnichannel_message_in .o_omnichannel_subject:contains(Desks for the new office)",
        },
        {
            content: "It shows it came by email",
            trigger: ".o_omnichannel_message_in .fa-envelope-o",
        },
        {
            content: "Choose to reply by email",
            trigger: ".o_omnichannel_target",
            run() {
                const select = document.querySelector(".o_omnichannel_target");
                const option = [...select.options].find((o) => o.textContent.startsWith("Email"));
                select.value = option.value;
                select.dispatchEvent(new Event("change"));
            },
        },
        {
            content: "Write the answer",
            trigger: ".o_omnichannel_input",
            run: "edit Twelve desks: 1200 EUR, delivery on Monday.",
        },
        {
            content: "Send it",
            trigger: ".o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "The email is in the history, sent",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(1200 EUR)",
        },
        {
            content: "It went by email",
            trigger: ".o_omnichannel_message_out[data-status=sent] .fa-envelope-o",
        },
    ],
});
