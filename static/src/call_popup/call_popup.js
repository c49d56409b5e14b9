import { Component } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";

/* One ringing call: the number, the customer (or "New caller"), their open
 * lead, the last message of each channel, and what to do next. */
export class CallPopup extends Component {
    static template = "omnichannel_inbox.CallPopup";
    static props = { popup: Object, close: Function };

    setup() {
        this.action = useService("action");
        this.orm = useService("orm");
    }

    formatDate(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    openLead() {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "crm.lead",
            res_id: this.props.popup.lead.id,
            views: [[false, "form"]],
        });
    }

    openHistory() {
        const history = this.props.popup.history;
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: history.model,
            res_id: history.id,
            views: [[false, "form"]],
        });
    }

    async createLead() {
        const action = await this.orm.call("omnichannel.call", "action_popup_create_lead", [
            [this.props.popup.call_id],
        ]);
        this.props.close(this.props.popup.call_id);
        await this.action.doAction(action);
    }
}

export class CallPopupContainer extends Component {
    static template = "omnichannel_inbox.CallPopupContainer";
    static components = { CallPopup };
    static props = { state: Object, close: Function };
}
