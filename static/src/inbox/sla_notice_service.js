import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";

/** The notification of a grouped response-time pop-up: never sticky (it
 * fades away), with a button opening the inbox on the conversations meant.
 * The server sends at most one per person and minute. */
export function slaNoticeOptions(payload, openInbox) {
    return {
        title: payload.title,
        type: payload.type || "warning",
        sticky: false,
        buttons: [
            {
                name: _t("Open the inbox"),
                primary: true,
                onClick: () => openInbox(payload.filter),
            },
        ],
    };
}

export const slaNoticeService = {
    dependencies: ["bus_service", "notification", "action"],
    start(env, { bus_service, notification, action }) {
        const openInbox = (filter) =>
            action.doAction("omnichannel_inbox.omnichannel_inbox_action", {
                additionalContext: { default_filter: filter || "waiting" },
                clearBreadcrumbs: true,
            });
        bus_service.subscribe("omnichannel/sla_notice", (payload) => {
            const close = notification.add(payload.message, {
                ...slaNoticeOptions(payload, (filter) => {
                    close();
                    openInbox(filter);
                }),
            });
        });
        bus_service.start();
    },
};

registry.category("services").add("omnichannel_sla_notice", slaNoticeService);
