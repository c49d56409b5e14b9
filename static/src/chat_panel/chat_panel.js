import { Component, markup, onMounted, onWillStart, onWillUnmount, onWillUpdateProps, useRef, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { checkFileSize } from "@web/core/utils/files";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { CannedResponseList, useCannedResponses } from "@omnichannel_inbox/canned_response/canned_responses";

const STATUS_ICONS = {
    queued: "fa-clock-o",
    sent: "fa-check",
    delivered: "fa-check-circle-o",
    read: "fa-check-circle text-primary",
    failed: "fa-exclamation-triangle text-danger",
};

/**
 * The customer's whole history across channels, inside the lead, partner and
 * conversation forms, with a composer that replies through the channel the
 * customer last wrote from (or another of theirs).  Newest page first, older
 * pages on scroll; new messages arrive through the bus.
 */
export class OmnichannelChatPanel extends Component {
    static template = "omnichannel_inbox.ChatPanel";
    static props = { ...standardWidgetProps };
    static components = { CannedResponseList };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.notification = useService("notification");
        this.busService = useService("bus_service");
        this.store = useService("mail.store");
        this.attachmentUpload = useService("mail.attachment_upload");
        this.listRef = useRef("list");
        this.fileRef = useRef("file");
        this.inputRef = useRef("input");
        this.canned = useCannedResponses({
            input: this.inputRef,
            conversationId: () => this.state.conversationId,
            setText: (text) => (this.state.text = text),
        });
        this.state = useState({
            messages: [],
            hasMore: false,
            loading: false,
            loaded: false,
            conversations: [],
            conversationId: false,
            text: "",
            // What mail's attachment upload service fills: the files of the
            // reply, uploaded (pending) as soon as they are chosen.
            composer: { attachments: [] },
            sending: false,
            canCall: false,
            calling: false,
            templateId: false,
            suggestions: [],
            // A company's history: its contacts (with a conversation the
            // user may read) and the one it is narrowed to (false: all).
            contacts: [],
            contactId: false,
        });
        // A message comes with several bus notifications (its conversation,
        // lead, delivery status...): one reading of the newest page answers
        // them all, as the inbox and the systray counter do.
        this.refreshSoon = useDebounced(() => this.refreshNewest(), 300);
        this.onBusUpdate = (payload) => this.onUpdate(payload);
        onWillStart(() => this.load(this.props.record));
        onWillUpdateProps(async (nextProps) => {
            if (nextProps.record.resId !== this.props.record.resId) {
                this.state.contactId = false;
                await this.load(nextProps.record);
            }
        });
        onMounted(() => {
            this.busService.subscribe("omnichannel/update", this.onBusUpdate);
            this.scrollToBottom();
        });
        onWillUnmount(() => this.busService.unsubscribe("omnichannel/update", this.onBusUpdate));
    }

    get statusIcons() {
        return STATUS_ICONS;
    }

    get selectedConversation() {
        return this.state.conversations.find((c) => c.id === this.state.conversationId);
    }

    /** Free text cannot go now (a messaging window closed, the customer
     * unreachable): the server says why in ``reply_refusal``. */
    get freeTextBlocked() {
        return Boolean(this.selectedConversation?.reply_refusal);
    }

    /** The WhatsApp template chosen in the picker (the first by default). */
    get selectedTemplate() {
        const templates = this.selectedConversation?.templates || [];
        return templates.find((t) => t.id === this.state.templateId) || templates[0];
    }

    // Template expressions cannot call parseInt (not an OWL global): handlers do.
    onTargetChange(ev) {
        this.state.conversationId = parseInt(ev.target.value);
    }

    onTemplateChange(ev) {
        this.state.templateId = parseInt(ev.target.value);
    }

    /** Send the chosen approved WhatsApp template (outside the 24-hour window). */
    async sendTemplate() {
        const template = this.selectedTemplate;
        if (this.state.sending || !template) {
            return;
        }
        await this.callSend("panel_send_template", [template.id]);
    }

    /** Call one of the panel's send methods for the selected conversation,
     * then show the message (and its failure if the provider refused it). */
    async callSend(method, extraArgs, kwargs = {}) {
        this.state.sending = true;
        try {
            const record = this.props.record;
            const message = await this.orm.call(
                "omnichannel.message",
                method,
                [record.resModel, record.resId, this.state.conversationId, ...extraArgs],
                kwargs
            );
            if (!this.state.messages.some((m) => m.id === message.id)) {
                this.state.messages.push(this.prepare(message));
            }
            // Keep replying where this one went (a first email opens a new conversation).
            this.state.conversationId = message.conversation_id;
            if (!this.state.conversations.some((c) => c.id === message.conversation_id)) {
                await this.refreshNewest();
            }
            if (message.status === "failed") {
                this.notification.add(_t("The message was not delivered: %s", message.error), { type: "danger" });
            }
            this.scrollToBottom();
            return message;
        } finally {
            this.state.sending = false;
        }
    }

    prepare(message) {
        return {
            ...message,
            body: markup(message.body || ""),
            dateLabel: formatDateTime(deserializeDateTime(message.date)),
            // A queued reply says when it is tried again.
            nextSendLabel: message.next_send_date ? formatDateTime(deserializeDateTime(message.next_send_date)) : "",
        };
    }

    /** Retry a file that could not be downloaded: back in the download
     * queue; the file replaces its placeholder when it arrives (bus). */
    async retryFile(message, file) {
        const record = this.props.record;
        const updated = await this.orm.call("omnichannel.message", "panel_retry_download", [
            record.resModel,
            record.resId,
            file.id,
        ]);
        const index = this.state.messages.findIndex((m) => m.id === message.id);
        if (index >= 0) {
            this.state.messages[index] = this.prepare(updated);
        }
    }

    async fetch(record, beforeId = false) {
        const context = {};
        if (record.origin) {
            // Where the conversation was opened, for the access log.
            context.omnichannel_panel_origin = record.origin;
        }
        if (this.state.contactId) {
            context.omnichannel_panel_contact_id = this.state.contactId;
        }
        return this.orm.call("omnichannel.message", "panel_fetch", [record.resModel, record.resId], {
            before_id: beforeId,
            context,
        });
    }

    /** The contact filter of a company's history: only that contact's
     * messages, and a reply to their latest conversation. */
    async onContactChange(ev) {
        this.state.contactId = parseInt(ev.target.value) || false;
        const own = this.state.conversations.find((c) => c.partner_id === this.state.contactId);
        if (own) {
            this.state.conversationId = own.id;
        }
        await this.load(this.props.record);
    }

    async load(record) {
        if (!record.resId) {
            Object.assign(this.state, { messages: [], conversations: [], loaded: true });
            return;
        }
        const data = await this.fetch(record);
        await this.loadSuggestions(record);
        this.state.messages = data.messages.map((m) => this.prepare(m)).reverse();
        this.state.hasMore = data.has_more;
        this.state.conversations = data.conversations;
        this.state.canCall = Boolean(data.can_call);
        this.state.contacts = data.contacts || [];
        if (!this.state.conversations.some((c) => c.id === this.state.conversationId)) {
            this.state.conversationId = data.default_conversation_id;
        }
        this.state.loaded = true;
        this.scrollToBottom();
    }

    async loadOlder() {
        if (this.state.loading || !this.state.hasMore || !this.state.messages.length) {
            return;
        }
        this.state.loading = true;
        const list = this.listRef.el;
        const previousHeight = list ? list.scrollHeight : 0;
        try {
            const data = await this.fetch(this.props.record, this.state.messages[0].id);
            const known = new Set(this.state.messages.map((m) => m.id));
            const older = data.messages.filter((m) => !known.has(m.id)).map((m) => this.prepare(m)).reverse();
            this.state.messages.unshift(...older);
            this.state.hasMore = data.has_more;
        } finally {
            this.state.loading = false;
        }
        // Keep the message the user was reading where it was.
        requestAnimationFrame(() => {
            if (list) {
                list.scrollTop = list.scrollHeight - previousHeight;
            }
        });
    }

    /** Merge the newest page: new messages are appended, known ones updated
     * (delivery status, edits). */
    async refreshNewest() {
        const data = await this.fetch(this.props.record);
        await this.loadSuggestions(this.props.record);
        const byId = new Map(this.state.messages.map((m, index) => [m.id, index]));
        let appended = false;
        for (const raw of data.messages.slice().reverse()) {
            const message = this.prepare(raw);
            if (byId.has(message.id)) {
                this.state.messages[byId.get(message.id)] = message;
            } else {
                this.state.messages.push(message);
                appended = true;
            }
        }
        this.state.messages.sort((a, b) => (a.date === b.date ? a.id - b.id : a.date < b.date ? -1 : 1));
        this.state.conversations = data.conversations;
        this.state.contacts = data.contacts || [];
        if (!this.state.conversationId) {
            this.state.conversationId = data.default_conversation_id;
        }
        if (appended) {
            this.scrollToBottom();
        }
    }

    /** "May be Ivan Petrov: same email" - a phone or an email nobody vouched
     * for matches another customer; a salesperson confirms (the histories join)
     * or rejects (the claim is forgotten).  Until then nothing of the other
     * customer is shown. */
    async loadSuggestions(record) {
        this.state.suggestions = await this.orm.call(
            "omnichannel.identity.suggestion",
            "panel_suggestions",
            [record.resModel, record.resId]
        );
    }

    async decideSuggestion(suggestion, confirm) {
        const result = await this.orm.call("omnichannel.identity.suggestion", "panel_decide", [
            [suggestion.id],
            confirm,
        ]);
        this.notification.add(
            confirm
                ? _t("Linked to %s: their histories are one.", suggestion.customer_name)
                : _t("Suggestion rejected."),
            { type: "success" }
        );
        const record = this.props.record;
        if (record.resModel === "crm.lead" && result.lead_id && result.lead_id !== record.resId) {
            // This lead was archived into the customer's open lead: go there.
            await this.action.doAction({
                type: "ir.actions.act_window",
                res_model: "crm.lead",
                res_id: result.lead_id,
                views: [[false, "form"]],
            });
            return;
        }
        if (record.resModel === "omnichannel.conversation") {
            // The conversation's customer changed: show it on its form.
            await record.load();
        }
        await this.load(record);
    }

    /** Email a one-time code to the claimed address; the customer types it
     * back in the chat to prove the address is theirs. */
    async sendCode(suggestion) {
        await this.orm.call("omnichannel.identity.suggestion", "panel_send_code", [suggestion.id]);
        this.notification.add(_t("A code was sent to the address: ask the customer to type it in the chat."), {
            type: "success",
        });
        await this.loadSuggestions(this.props.record);
    }

    /** Save a contact card of a message as a new contact (never the sender). */
    async saveCard(message) {
        const record = this.props.record;
        const partnerId = await this.orm.call("omnichannel.message", "panel_save_card", [
            record.resModel,
            record.resId,
            message.id,
        ]);
        message.card = { ...message.card, saved_partner_id: partnerId };
        this.notification.add(_t("Saved as a new contact: %s", message.card.name || message.card.phone), {
            type: "success",
        });
    }

    onUpdate(payload) {
        const record = this.props.record;
        if (!record.resId) {
            return;
        }
        const concerned =
            (record.resModel === "crm.lead" && payload.lead_ids?.includes(record.resId)) ||
            (record.resModel === "res.partner" && payload.partner_ids?.includes(record.resId)) ||
            (record.resModel === "omnichannel.conversation" && payload.conversation_ids?.includes(record.resId)) ||
            this.state.messages.some((m) => payload.conversation_ids?.includes(m.conversation_id)) ||
            this.state.conversations.some((c) => payload.conversation_ids?.includes(c.id)) ||
            this.state.contacts.some((c) => payload.partner_ids?.includes(c.id));
        if (concerned) {
            this.refreshSoon();
        }
    }

    onScroll(ev) {
        if (ev.target.scrollTop < 40) {
            this.loadOlder();
        }
    }

    scrollToBottom() {
        requestAnimationFrame(() => {
            const list = this.listRef.el;
            if (list) {
                list.scrollTop = list.scrollHeight;
            }
        });
    }

    onKeydown(ev) {
        if (this.canned.onKeydown(ev)) {
            return;
        }
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
            ev.preventDefault();
            this.send();
        }
    }

    get uploading() {
        return this.state.composer.attachments.some((attachment) => attachment.uploading);
    }

    /** Where a file is uploaded for: the conversation replied to (mail's
     * upload route lets only who may post on it upload), or the form's
     * record for a conversation opened on sending (a first email). */
    get uploadThread() {
        const id = this.state.conversationId;
        const { resModel, resId } = this.props.record;
        return id > 0
            ? this.store.Thread.insert({ model: "omnichannel.conversation", id })
            : this.store.Thread.insert({ model: resModel, id: resId });
    }

    /** Upload the chosen files through mail's attachment upload service
     * (multipart, the server's size limit): pending files, sent with the
     * reply by id. */
    async onFileChange(ev) {
        const files = [...ev.target.files];
        ev.target.value = "";
        const thread = this.uploadThread;
        const composer = this.state.composer;
        await Promise.all(
            files
                .filter((file) => checkFileSize(file.size, this.notification))
                .map((file) => this.attachmentUpload.upload(thread, composer, file))
        );
        // A refused upload (too large, no access) leaves its placeholder,
        // which mail's own composer loses with the store record.
        composer.attachments = composer.attachments.filter((attachment) => attachment.exists());
    }

    async removeFile(attachment) {
        const composer = this.state.composer;
        composer.attachments = composer.attachments.filter((a) => a !== attachment);
        await this.attachmentUpload.unlink(attachment);
    }

    /** The Transfer button: the wizard hands the selected conversation
     * over; the panel then shows what the user may still see. */
    async transfer() {
        const action = await this.orm.call("omnichannel.conversation", "action_open_transfer_wizard", [
            [this.state.conversationId],
        ]);
        await this.action.doAction(action, {
            onClose: () => this.load(this.props.record).catch(() => {}),
        });
    }

    /** The phone button: the phone system rings the user's phone, then the
     * customer; the call then appears in the history through the bus. */
    async call() {
        if (this.state.calling) {
            return;
        }
        this.state.calling = true;
        try {
            const record = this.props.record;
            const result = await this.orm.call("omnichannel.call", "panel_call", [record.resModel, record.resId]);
            this.notification.add(result.message, {
                type: result.ok ? "success" : "danger",
                sticky: !result.ok,
            });
            if (result.ok) {
                await this.refreshNewest();
            }
        } finally {
            this.state.calling = false;
        }
    }

    async send() {
        const attachments = this.state.composer.attachments;
        if (this.state.sending || this.uploading || (!this.state.text.trim() && !attachments.length)) {
            return;
        }
        if (!this.state.conversationId) {
            this.notification.add(_t("This customer has no channel to reply to."), { type: "warning" });
            return;
        }
        await this.callSend("panel_send", [], {
            text: this.state.text,
            attachment_ids: attachments.map((attachment) => attachment.id),
            canned_response_ids: [...this.canned.used],
        });
        this.state.text = "";
        this.state.composer.attachments = [];
        this.canned.used.clear();
        this.canned.close();
    }
}

registry.category("view_widgets").add("omnichannel_chat_panel", {
    component: OmnichannelChatPanel,
});
