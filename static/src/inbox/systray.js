import { Component, onMounted, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";

/** Top-bar counter of the conversations waiting for me; opens my inbox. */
export class InboxSystray extends Component {
    static template = "omnichannel_inbox.InboxSystray";
    static props = [];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.busService = useService("bus_service");
        this.state = useState({ visible: false, count: 0 });
        this.refreshSoon = useDebounced(() => this.refresh(), 500);
        this.onBusUpdate = () => this.refreshSoon();
        onWillStart(async () => {
            this.state.visible = await user.hasGroup("omnichannel_inbox.group_omnichannel_user");
            if (this.state.visible) {
                await this.refresh();
            }
        });
        onMounted(() => this.state.visible && this.busService.subscribe("omnichannel/update", this.onBusUpdate));
        onWillUnmount(() => this.busService.unsubscribe("omnichannel/update", this.onBusUpdate));
    }

    async refresh() {
        this.state.count = await this.orm.call("omnichannel.conversation", "inbox_counter", []);
    }

    open() {
        this.action.doAction("omnichannel_inbox.omnichannel_inbox_action", {
            additionalContext: { default_filter: "mine" },
            clearBreadcrumbs: true,
        });
    }
}

registry.category("systray").add("omnichannel_inbox.InboxSystray", { Component: InboxSystray }, { sequence: 40 });
