import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";

/** "::" then the shortcut, at the caret, after a space or at the start. */
const TOKEN = /(^|\s)::(\S*)$/;
/** Placeholders of a canned response ({first_name} ...), filled for the
 * conversation; unknown ones are left as typed. */
const PLACEHOLDER = /\{(\w+)\}/g;
const LIMIT = 8;

/**
 * @param {string} text a canned response's substitution
 * @param {Object} values placeholder name -> value
 * @returns {string}
 */
export function fillPlaceholders(text, values) {
    return (text || "").replace(PLACEHOLDER, (match, name) =>
        Object.hasOwn(values, name) ? values[name] : match
    );
}

/**
 * Canned responses in a composer: typing "::" and a shortcut lists the
 * matching responses, found by mail's suggestion service (the same "::" and
 * the same responses as in Discuss, plus those shared with the user's sales
 * teams), filled for the conversation's customer and the current user;
 * Enter, Tab or a click puts the text in place of "::shortcut".  The
 * responses picked are marked used when the reply is sent (``used``).
 *
 * @param {Object} params
 * @param {Object} params.input ref of the textarea
 * @param {Function} params.conversationId () => id of the conversation replied to
 * @param {Function} params.setText (text) => void, the composer's new text
 */
export function useCannedResponses({ input, conversationId, setText }) {
    const orm = useService("orm");
    const suggestion = useService("mail.suggestion");
    const state = useState({ open: false, items: [], active: 0, term: "" });
    const used = new Set();
    let token = null;
    let requestId = 0;
    // The placeholder values of the conversation, read once while the list is open.
    let values = null;

    const search = useDebounced(async () => {
        if (!token) {
            return;
        }
        const current = ++requestId;
        const id = conversationId();
        values ??= orm.call("mail.canned.response", "omnichannel_placeholder_values", [id]);
        const [placeholders] = await Promise.all([
            values,
            suggestion.fetchSuggestions({ delimiter: "::", term: token.term }),
        ]);
        if (current !== requestId || !token) {
            return;
        }
        const { suggestions } = suggestion.searchSuggestions({ delimiter: "::", term: token.term });
        const items = suggestions.slice(0, LIMIT).map((response) => ({
            id: response.id,
            source: response.source,
            text: fillPlaceholders(response.substitution, placeholders),
        }));
        Object.assign(state, { open: true, items, active: 0, term: token.term });
    }, 150);

    function close() {
        requestId++;
        token = null;
        values = null;
        Object.assign(state, { open: false, items: [], active: 0, term: "" });
    }

    function update() {
        const el = input.el;
        // A conversation the panel opens on sending (a first email) has no placeholders yet.
        const match = el && conversationId() > 0 && el.value.slice(0, el.selectionStart).match(TOKEN);
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
        used.add(item.id);
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

    return { state, update, pick, close, onKeydown, used };
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
