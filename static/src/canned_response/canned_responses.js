import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";

/** "::" then the shortcut, at the caret, after a space or at the start. */
const TOKEN = /(^|\s)::(\S*)$/;

/**
 * Canned responses in a composer: typing "::" and a shortcut lists the
 * matching responses (Odoo's mail.canned.response, the same "::" as in
 * Discuss), already rendered for the conversation's customer and the current
 * user; Enter, Tab or a click puts the text in place of "::shortcut".
 *
 * @param {Object} params
 * @param {Object} params.input ref of the textarea
 * @param {Function} params.conversationId () => id of the conversation replied to
 * @param {Function} params.setText (text) => void, the composer's new text
 */
export function useCannedResponses({ input, conversationId, setText }) {
    const orm = useService("orm");
    const state = useState({ open: false, items: [], active: 0, term: "" });
    let token = null;
    let requestId = 0;

    const search = useDebounced(async () => {
        if (!token) {
            return;
        }
        const current = ++requestId;
        const items = await orm.call("mail.canned.response", "omnichannel_suggest", [
            conversationId(),
            token.term,
        ]);
        if (current !== requestId || !token) {
            return;
        }
        Object.assign(state, { open: true, items, active: 0, term: token.term });
    }, 150);

    function close() {
        requestId++;
        token = null;
        Object.assign(state, { open: false, items: [], active: 0, term: "" });
    }

    function update() {
        const el = input.el;
        const match = el && conversationId() && el.value.slice(0, el.selectionStart).match(TOKEN);
        if (!match) {
            close();
            return;
        }
        token = { start: el.selectionStart - match[2].length - 2, end: el.selectionStart, term: match[2] };
        search();
    }

    function pick(item) {
        const el = input.el;
        if (!token || !el) {
            return;
        }
        const value = el.value;
        const caret = token.start + item.text.length;
        setText(value.slice(0, token.start) + item.text + value.slice(token.end));
        close();
        orm.call("mail.canned.response", "omnichannel_mark_used", [[item.id]]);
        requestAnimationFrame(() => {
            el.focus();
            el.setSelectionRange(caret, caret);
        });
    }

    /** Keyboard of the open list; returns true when the key was used. */
    function onKeydown(ev) {
        if (!state.open) {
            return false;
        }
        const count = state.items.length;
        if (ev.key === "Escape") {
            close();
        } else if (ev.key === "ArrowDown" && count) {
            state.active = (state.active + 1) % count;
        } else if (ev.key === "ArrowUp" && count) {
            state.active = (state.active - 1 + count) % count;
        } else if ((ev.key === "Enter" || ev.key === "Tab") && count && !ev.ctrlKey && !ev.metaKey) {
            pick(state.items[state.active]);
        } else {
            return false;
        }
        ev.preventDefault();
        ev.stopPropagation();
        return true;
    }

    return { state, update, pick, close, onKeydown };
}

export class CannedResponseList extends Component {
    static template = "omnichannel_inbox.CannedResponseList";
    static props = { canned: Object };

    setup() {
        // The list is owned by the composer's component: observe it here too,
        // so that the list re-renders when it changes.
        this.state = useState(this.props.canned.state);
    }
}
