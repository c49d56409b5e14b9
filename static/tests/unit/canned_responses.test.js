import { describe, expect, test } from "@odoo/hoot";

import { fillPlaceholders } from "@omnichannel_inbox/canned_response/canned_responses";

describe.current.tags("desktop");

const VALUES = { first_name: "Иван", salesperson: "Olga Smirnova", company: "" };

test("placeholders are filled for the conversation, unknown ones left as typed", () => {
    expect(
        fillPlaceholders("Здравствуйте, {first_name}! Я {salesperson}. {unknown} stays.", VALUES)
    ).toBe("Здравствуйте, Иван! Я Olga Smirnova. {unknown} stays.");
});

test("a placeholder may come back, be empty, or stand next to another", () => {
    expect(fillPlaceholders("{first_name}{company}, {first_name}", VALUES)).toBe("Иван, Иван");
});

test("a value is inserted as it is, never filled again", () => {
    expect(fillPlaceholders("Hi {first_name}", { first_name: "{salesperson} $&" })).toBe(
        "Hi {salesperson} $&"
    );
});

test("no text and no values", () => {
    expect(fillPlaceholders(false, VALUES)).toBe("");
    expect(fillPlaceholders("{first_name} {toString}", {})).toBe("{first_name} {toString}");
});
