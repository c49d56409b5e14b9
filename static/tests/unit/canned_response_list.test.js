import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { edit, press, queryOne } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { Component, useRef, useState, xml } from "@odoo/owl";
import { contains, mockService, mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";

import {
    CannedResponseList,
    useCannedResponses,
} from "@omnichannel_inbox/canned_response/canned_responses";

describe.current.tags("desktop");
// mail's services (its store) start in the test environment as in the web client.
defineMailModels();

/** A composer as the chat panel's: a textarea with the "::" list above it. */
class Composer extends Component {
    static template = xml`
        <div>
            <CannedResponseList canned="canned"/>
            <textarea class="o_test_input" t-ref="input" t-model="state.text"
                      t-on-input="() => this.canned.update()" t-on-keydown="(ev) => this.canned.onKeydown(ev)"/>
        </div>`;
    static components = { CannedResponseList };
    static props = ["*"];

    setup() {
        this.state = useState({ text: "" });
        this.canned = useCannedResponses({
            input: useRef("input"),
            conversationId: () => 7,
            setText: (text) => (this.state.text = text),
        });
    }
}

test("'::' lists mail's suggestions filled for the conversation; Enter inserts one", async () => {
    const responses = [
        { id: 1, source: "greet", substitution: "Hello {first_name}!" },
        { id: 2, source: "greet-long", substitution: "Good day, {customer}. {unknown}" },
    ];
    mockService("mail.suggestion", () => ({
        async fetchSuggestions({ delimiter, term }) {
            expect.step(`fetch ${delimiter}${term}`);
        },
        searchSuggestions({ delimiter, term }) {
            return {
                type: "mail.canned.response",
                suggestions: responses.filter((r) => r.source.startsWith(term)),
            };
        },
    }));
    onRpc("mail.canned.response", "omnichannel_placeholder_values", ({ args }) => {
        expect.step(`values of conversation ${args[0]}`);
        return { first_name: "Иван", customer: "Иван Петров" };
    });
    const composer = await mountWithCleanup(Composer);

    await contains(".o_test_input").click();
    await edit("Hi ::gre");
    await advanceTime(200);
    await animationFrame();
    expect.verifySteps(["fetch ::gre", "values of conversation 7"]);
    expect(".o_omnichannel_canned_item").toHaveCount(2);
    expect(".o_omnichannel_canned_item:eq(1) .text-truncate").toHaveText(
        "Good day, Иван Петров. {unknown}"
    );

    await press("ArrowDown");
    await animationFrame();
    expect(".o_omnichannel_canned_item:eq(1)").toHaveClass("active");
    await press("Enter");
    await animationFrame();
    expect(".o_omnichannel_canned").toHaveCount(0);
    expect(queryOne(".o_test_input").value).toBe("Hi Good day, Иван Петров. {unknown}");
    expect([...composer.canned.used]).toEqual([2], { message: "marked used when sent" });
});

test("no list without '::' at the caret", async () => {
    mockService("mail.suggestion", () => ({
        async fetchSuggestions() {
            expect.step("fetch");
        },
        searchSuggestions: () => ({ suggestions: [] }),
    }));
    await mountWithCleanup(Composer);
    await contains(".o_test_input").click();
    await edit("a::b is not a shortcut");
    await advanceTime(200);
    await animationFrame();
    expect(".o_omnichannel_canned").toHaveCount(0);
    expect.verifySteps([]);
});
