import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { select } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import { mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";

import { OmnichannelChatPanel } from "@omnichannel_inbox/chat_panel/chat_panel";

describe.current.tags("desktop");
defineMailModels();

const MESSAGES = [
    { id: 2, partner_id: 12, body: "<p>Boris: delivery to Tula</p>" },
    { id: 1, partner_id: 11, body: "<p>Anna: 40 tonnes of rebar</p>" },
].map((m) => ({
    date: "2025-03-12 07:00:00",
    direction: "in",
    author_kind: "customer",
    author_name: m.partner_id === 11 ? "Anna" : "Boris",
    channel_name: "Sales bot",
    channel_type: "telegram",
    conversation_id: m.partner_id === 11 ? 101 : 102,
    attachments: [],
    pending_files: [],
    status: "received",
    ...m,
}));

test("a company's history lists its contacts and narrows to one", async () => {
    onRpc("omnichannel.identity.suggestion", "panel_suggestions", () => []);
    onRpc("omnichannel.message", "panel_fetch", ({ args, kwargs }) => {
        const contact = kwargs.context.omnichannel_panel_contact_id;
        expect.step(`fetch ${args[0]} ${args[1]} contact ${contact || "all"}`);
        return {
            messages: MESSAGES.filter((m) => !contact || m.partner_id === contact),
            has_more: false,
            conversations: [
                { id: 101, partner_id: 11, channel_name: "Sales bot", identity: "Anna" },
                { id: 102, partner_id: 12, channel_name: "Sales bot", identity: "Boris" },
            ],
            default_conversation_id: 101,
            contacts: [
                { id: 11, name: "Anna Smirnova" },
                { id: 12, name: "Boris Petrov" },
            ],
        };
    });
    await mountWithCleanup(OmnichannelChatPanel, {
        props: { record: { resModel: "res.partner", resId: 7, data: {} } },
    });
    await animationFrame();
    expect.verifySteps(["fetch res.partner 7 contact all"]);
    expect(".o_omnichannel_contact_filter option").toHaveCount(3);
    expect(".o_omnichannel_message").toHaveCount(2);

    await select("12", { target: ".o_omnichannel_contact_filter select" });
    await animationFrame();
    expect.verifySteps(["fetch res.partner 7 contact 12"]);
    expect(".o_omnichannel_message").toHaveCount(1);
    expect(".o_omnichannel_body").toHaveText("Boris: delivery to Tula");
});

test("no contact filter for one customer's history", async () => {
    onRpc("omnichannel.identity.suggestion", "panel_suggestions", () => []);
    onRpc("omnichannel.message", "panel_fetch", () => ({
        messages: [MESSAGES[1]],
        has_more: false,
        conversations: [{ id: 101, partner_id: 11, channel_name: "Sales bot", identity: "Anna" }],
        default_conversation_id: 101,
        contacts: [],
    }));
    await mountWithCleanup(OmnichannelChatPanel, {
        props: { record: { resModel: "crm.lead", resId: 3, data: {} } },
    });
    await animationFrame();
    expect(".o_omnichannel_message").toHaveCount(1);
    expect(".o_omnichannel_contact_filter").toHaveCount(0);
});
