import { reactive } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { CallPopupContainer } from "./call_popup";

/* Screen-pop: the server sends one bus notification to the partner channel
 * of the employee whose extension rings (so every tab of theirs shows it),
 * and a second one when the call is answered elsewhere or over.  The popup
 * content comes with the notification, already read with the employee's own
 * rights on the server. */
export const callPopupService = {
    dependencies: ["bus_service"],
    start(env, { bus_service }) {
        const state = reactive({ popups: [] });
        const close = (callId) => {
            const index = state.popups.findIndex((popup) => popup.call_id === callId);
            if (index >= 0) {
                state.popups.splice(index, 1);
            }
        };
        bus_service.subscribe("omnichannel_call/popup", (payload) => {
            close(payload.call_id);
            state.popups.push(payload);
        });
        bus_service.subscribe("omnichannel_call/popup_close", (payload) => close(payload.call_id));
        bus_service.start();
        registry.category("main_components").add("omnichannel_inbox.CallPopupContainer", {
            Component: CallPopupContainer,
            props: { state, close },
        });
        return { state, close };
    },
};

registry.category("services").add("omnichannel_call_popup", callPopupService);
