import { describe, expect, test } from "@odoo/hoot";

import { slaNoticeOptions } from "@omnichannel_inbox/inbox/sla_notice_service";

describe.current.tags("desktop");

const PAYLOAD = {
    type: "danger",
    title: "Response time breached",
    message: "3 customers waiting — open the inbox",
    sticky: true, // whatever the server says, the notice fades away
    filter: "breached",
};

test("a response-time notice is not sticky and keeps its title and type", () => {
    const options = slaNoticeOptions(PAYLOAD, () => {});
    expect(options.sticky).toBe(false);
    expect(options.title).toBe("Response time breached");
    expect(options.type).toBe("danger");
});

test("its button opens the inbox on the filter the server chose", () => {
    const opened = [];
    const { buttons } = slaNoticeOptions(PAYLOAD, (filter) => opened.push(filter));
    expect(buttons).toHaveLength(1);
    const [button] = buttons;
    expect(button.primary).toBe(true);
    button.onClick();
    expect(opened).toEqual(["breached"]);
});
