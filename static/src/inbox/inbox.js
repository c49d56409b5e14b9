import { Component, onMounted, onWillStart, onWillUnmount, useState, useSubEnv } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";
import { useSetupAction } from "@web/search/action_hook";
import { Layout } from "@web/search/layout";
import { getDefaultConfig } from "@web/views/view";
import { OmnichannelChatPanel } from "@omnichannel_inbox/chat_panel/chat_panel";
import { formatDuration } from "./duration";

export const INBOX_FILTERS = [
    { key: "waiting", label: _t("Waiting for us") },
    { key: "mine", label: _t("Mine") },
    { key: "unassigned", label: _t("Unassigned") },
    { key: "breached", label: _t("SLA breached") },
    { key: "customer", label: _t("Waiting for the customer") },
    { key: "closed", label: _t("Closed") },
];

/**
 * The salesperson's unified inbox: the conversations waiting for them and
 * their team, longest waiting first, with the SLA countdown and unread
 * counts; the selected one opens in the same chat panel as the lead form.
 * Everything updates live from the bus ("omnichannel/update").
 */
export class OmnichannelInbox extends Component {
    static template = "omnichannel_inbox.Inbox";
    static components = { Layout, OmnichannelChatPanel };
    static props = ["*"];

    setup() {
        useSubEnv({ config: { ...getDefaultConfig(), ...this.env.config } });
        useSetupAction();
        this.orm = useService("orm");
        this.action = useService("action");
        this.busService = useService("bus_service");
        const context = this.props.action?.context || {};
        this.filters = INBOX_FILTERS;
        this.state = useState({
            filter: INBOX_FILTERS.some((f) => f.key === context.default_filter) ? context.default_filter : "waiting",
            search: "",
            tagIds: [],
            tags: [],
            conversations: [],
            counts: {},
            selected: null,
            now: Date.now(),
            loaded: false,
        });
        this.reloadSoon = useDebounced(() => this.reload(), 300);
        this.onBusUpdate = (payload) => this.onUpdate(payload);
        onWillStart(() => this.reload());
        onMounted(() => {
            this.busService.subscribe("omnichannel/update", this.onBusUpdate);
            // The waits and SLA countdowns move on without a server call.
            this.clock = setInterval(() => (this.state.now = Date.now()), 15000);
        });
        onWillUnmount(() => {
            this.busService.unsubscribe("omnichannel/update", this.onBusUpdate);
            clearInterval(this.clock);
        });
    }

    get panelRecord() {
        return { resModel: "omnichannel.conversation", resId: this.state.selected.id, origin: "inbox" };
    }

    async reload() {
        const data = await this.orm.call("omnichannel.conversation", "inbox_fetch", [], {
            inbox_filter: this.state.filter,
            search: this.state.search,
            tag_ids: this.state.tagIds,
        });
        this.state.conversations = data.conversations;
        this.state.counts = data.counts;
        this.state.tags = data.tags;
        this.state.now = Date.now();
        this.state.loaded = true;
        const selected = this.state.selected;
        if (selected) {
            const fresh =
                data.conversations.find((c) => c.id === selected.id) ||
                (await this.orm.call("omnichannel.conversation", "inbox_read", [[selected.id]]))[0];
            this.state.selected = fresh ? { ...fresh, unread: 0 } : null;
        }
    }

    onUpdate() {
        this.reloadSoon();
    }

    setFilter(key) {
        this.state.filter = key;
        this.reload();
    }

    onSearchInput(ev) {
        this.state.search = ev.target.value;
        this.reloadSoon();
    }

    toggleTag(tagId) {
        const tagIds = this.state.tagIds;
        this.state.tagIds = tagIds.includes(tagId) ? tagIds.filter((id) => id !== tagId) : [...tagIds, tagId];
        this.reload();
    }

    select(conversation) {
        // The chat panel's first read marks what it shows as seen.
        conversation.unread = 0;
        this.state.selected = conversation;
    }

    unselect() {
        this.state.selected = null;
    }

    waitLabel(conversation) {
        if (!conversation.waiting_since) {
            return "";
        }
        const since = deserializeDateTime(conversation.waiting_since).toMillis();
        return formatDuration((this.state.now - since) / 1000);
    }

    slaLabel(conversation) {
        if (!conversation.sla_deadline) {
            return "";
        }
        const left = (deserializeDateTime(conversation.sla_deadline).toMillis() - this.state.now) / 1000;
        return left >= 0
            ? _t("%s left", formatDuration(left))
            : _t("overdue by %s", formatDuration(-left));
    }

    slaClass(conversation) {
        if (!conversation.sla_deadline) {
            return "";
        }
        const left = deserializeDateTime(conversation.sla_deadline).toMillis() - this.state.now;
        return left < 0 ? "text-bg-danger" : left < 5 * 60 * 1000 ? "text-bg-warning" : "text-bg-light";
    }

    dateLabel(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    async callAction(method) {
        const result = await this.orm.call("omnichannel.conversation", method, [[this.state.selected.id]]);
        if (result && typeof result === "object" && result.type) {
            // A wizard (transfer) changes the list when it closes.
            await this.action.doAction(result, { onClose: () => this.reload() });
            return;
        }
        await this.reload();
    }

    openJournal() {
        this.action.doAction("omnichannel_inbox.omnichannel_journal_action");
    }

    openCannedResponses() {
        this.action.doAction("mail.mail_canned_response_action");
    }
}

registry.category("actions").add("omnichannel_inbox.inbox", OmnichannelInbox);
