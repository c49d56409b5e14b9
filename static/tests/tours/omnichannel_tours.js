import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { inputFiles } from "@web/../tests/utils";

function callKw(model, method, args, kwargs = {}) {
    return rpc(`/web/dataset/call_kw/${model}/${method}`, { model, method, args, kwargs });
}

/* A salesperson opens a lead with Telegram history, reads it and answers. */
registry.category("web_tour.tours").add("omnichannel_lead_chat_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The customer's Telegram message is in the lead's chat panel",
            trigger: ".o_omnichannel_chat_panel .o_omnichannel_message_in .o_omnichannel_body:contains(Сколько стоит доставка)",
        },
        {
            content: "It shows the channel it came from",
            trigger: ".o_omnichannel_message_in .fa-telegram",
        },
        {
            content: "The reply goes to the Telegram conversation by default",
            trigger: ".o_omnichannel_target:contains(Tour bot)",
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
            content: "The reply is in the history, marked sent",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Доставка бесплатная)",
        },
        {
            content: "with its status label",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_status_label:contains(Sent)",
        },
        {
            content: "Attach a price list (uploaded through mail's attachment upload service)",
            trigger: ".o_omnichannel_composer button[title='Attach files']:enabled",
            async run() {
                const file = new File(["Price list: chairs 120 EUR"], "prices.txt", { type: "text/plain" });
                await inputFiles(".o_omnichannel_composer input[type=file]", [file]);
            },
        },
        {
            content: "The file is uploaded",
            trigger: ".o_omnichannel_upload[data-uploading='0']:contains(prices.txt)",
        },
        {
            content: "Type the shortcut of a canned response",
            trigger: ".o_omnichannel_input",
            run: "edit ::pri",
        },
        {
            content: "Mail's suggestion service offers it, filled for this customer",
            trigger: ".o_omnichannel_canned_item[data-source=prices]:contains(Anna, the prices for Tour bot)",
            run: "click",
        },
        {
            content: "It is in the composer",
            trigger: ".o_omnichannel_input:value(Anna, the prices for Tour bot are attached.)",
        },
        {
            content: "Send the file with the text",
            trigger: ".o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "The file is in the history, the reply sent",
            trigger: ".o_omnichannel_message_out[data-status=sent]:has(.o_omnichannel_file:contains(prices.txt))",
        },
        {
            content: "and the composer is empty again",
            trigger: ".o_omnichannel_composer:not(:has(.o_omnichannel_upload))",
        },
    ],
});

/* A visitor writes on the Sandbox page, as a customer would in a messenger. */
registry.category("web_tour.tours").add("omnichannel_sandbox_customer_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "Say who you are",
            trigger: ".o_sandbox_identity input[name=name]",
            run: "edit Tour Visitor",
        },
        {
            content: "Write a message",
            trigger: ".o_sandbox_composer input[name=text]",
            run: "edit Hello from the Sandbox page",
        },
        {
            content: "Send it",
            trigger: ".o_sandbox_send",
            run: "click",
        },
        {
            content: "It appears in the chat",
            trigger: ".o_sandbox_message_mine .o_sandbox_text:contains(Hello from the Sandbox page)",
        },
    ],
});

/* The Sandbox message is in the lead, live; the salesperson answers it. */
registry.category("web_tour.tours").add("omnichannel_sandbox_lead_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The Sandbox message is in the lead",
            trigger: ".o_omnichannel_message_in .o_omnichannel_body:contains(Hello from the Sandbox page)",
        },
        {
            content: "Meanwhile the visitor writes again (posted to the channel's webhook, signed with its secret)",
            trigger: ".o_omnichannel_message_in .o_omnichannel_body:contains(Hello from the Sandbox page)",
            run: async () => {
                // The visitor's own token stays in their browser: an
                // administrator posts as the Sandbox's provider side instead.
                const [channel] = await callKw("omnichannel.channel", "search_read", [
                    [["name", "=", "Tour Sandbox"]], ["webhook_url", "webhook_secret"],
                ]);
                const [identity] = await callKw("omnichannel.identity", "search_read", [
                    [["name", "=", "Tour Visitor"]], ["provider_user_id"],
                ]);
                const response = await fetch(channel.webhook_url, {
                    method: "POST",
                    headers: {
                        "Content-Type": "application/json",
                        "X-Omnichannel-Sandbox-Secret": channel.webhook_secret,
                    },
                    body: JSON.stringify({
                        event_id: "tour-second-message",
                        session: identity.provider_user_id,
                        name: "Tour Visitor",
                        text: "Are you there?",
                    }),
                });
                if (!response.ok) {
                    throw new Error(`webhook answered ${response.status}`);
                }
            },
        },
        {
            content: "The second message appears without reloading the lead",
            trigger: ".o_omnichannel_message_in .o_omnichannel_body:contains(Are you there)",
        },
        {
            content: "Answer",
            trigger: ".o_omnichannel_input",
            run: "edit Yes, how can I help?",
        },
        {
            content: "Send",
            trigger: ".o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "Sent",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Yes, how can I help?)",
        },
    ],
});
