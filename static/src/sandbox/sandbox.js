/* The Sandbox customer page: plays a messenger for the Sandbox channel.
 * It posts the provider's JSON body with the session id and token the server
 * issued to this visitor (the page knows no channel secret), and polls Odoo
 * for the conversation's messages with the same pair.
 * Plain script on purpose: the page is public and needs no Odoo bundle. */
(function () {
    "use strict";

    function start(root) {
        const sendUrl = root.dataset.sendUrl;
        const messagesUrl = root.dataset.messagesUrl;
        const storageKey = "omnichannel_sandbox:" + sendUrl;
        const list = root.querySelector(".o_sandbox_messages");
        const form = root.querySelector(".o_sandbox_composer");
        const errorEl = root.querySelector(".o_sandbox_error");
        const fields = {};
        for (const name of ["name", "phone", "email"]) {
            fields[name] = root.querySelector(`.o_sandbox_identity [name=${name}]`);
        }
        let state;
        try {
            state = JSON.parse(window.localStorage.getItem(storageKey) || "{}");
        } catch {
            state = {};
        }
        if (!state.session || !state.token) {
            // A visitor back on the page keeps their conversation: the pair
            // the server issued before stays valid.
            state.session = root.dataset.session;
            state.token = root.dataset.token;
        }
        for (const name of Object.keys(fields)) {
            fields[name].value = state[name] || "";
        }
        const save = () => window.localStorage.setItem(storageKey, JSON.stringify(state));
        save();

        let lastId = 0;
        const seen = new Set();

        function showError(text) {
            errorEl.textContent = text || "";
            errorEl.classList.toggle("d-none", !text);
        }

        function render(message) {
            if (seen.has(message.id)) {
                return;
            }
            seen.add(message.id);
            lastId = Math.max(lastId, message.id);
            const empty = list.querySelector(".o_sandbox_empty");
            if (empty) {
                empty.remove();
            }
            const mine = message.direction === "in";
            const row = document.createElement("div");
            row.className = "d-flex mb-2 " + (mine ? "justify-content-end" : "justify-content-start");
            const bubble = document.createElement("div");
            bubble.className = "o_sandbox_message rounded px-3 py-2 " +
                (mine ? "bg-primary text-white o_sandbox_message_mine" : "bg-white border o_sandbox_message_reply");
            bubble.style.maxWidth = "75%";
            const author = document.createElement("div");
            author.className = "small fw-bold";
            author.textContent = message.author;
            const text = document.createElement("div");
            text.className = "o_sandbox_text";
            text.style.whiteSpace = "pre-wrap";
            text.textContent = message.text;
            bubble.append(author, text);
            for (const name of message.attachments || []) {
                const file = document.createElement("div");
                file.className = "small fst-italic";
                file.textContent = "📎 " + name;
                bubble.append(file);
            }
            row.append(bubble);
            list.append(row);
            list.scrollTop = list.scrollHeight;
        }

        async function poll() {
            try {
                const response = await fetch(messagesUrl, {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: JSON.stringify({
                        jsonrpc: "2.0", method: "call", id: Date.now(),
                        params: { session: state.session, token: state.token, after_id: lastId },
                    }),
                });
                const data = await response.json();
                for (const message of (data.result && data.result.messages) || []) {
                    render(message);
                }
            } catch {
                // The next poll tries again; a lost poll loses nothing.
            }
        }

        function readFile(file) {
            return new Promise((resolve, reject) => {
                const reader = new FileReader();
                reader.onload = () => resolve(String(reader.result).split(",")[1] || "");
                reader.onerror = () => reject(reader.error);
                reader.readAsDataURL(file);
            });
        }

        form.addEventListener("submit", async (ev) => {
            ev.preventDefault();
            const input = form.querySelector("[name=text]");
            const fileInput = form.querySelector("[name=file]");
            const text = input.value;
            const file = fileInput.files && fileInput.files[0];
            if (!text.trim() && !file) {
                return;
            }
            for (const name of Object.keys(fields)) {
                state[name] = fields[name].value.trim();
            }
            save();
            const payload = {
                event_id: (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random(),
                session: state.session,
                token: state.token,
                name: state.name,
                phone: state.phone,
                email: state.email,
                text,
                attachments: [],
            };
            if (file) {
                payload.attachments.push({ filename: file.name, mimetype: file.type, data: await readFile(file) });
            }
            const button = form.querySelector("button");
            button.disabled = true;
            try {
                const response = await fetch(sendUrl, {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: JSON.stringify(payload),
                });
                if (!response.ok) {
                    const data = await response.json().catch(() => ({}));
                    showError(data.error || `Error ${response.status}`);
                } else {
                    showError("");
                    input.value = "";
                    fileInput.value = "";
                    await poll();
                }
            } catch (error) {
                showError(String(error));
            } finally {
                button.disabled = false;
            }
        });

        poll();
        setInterval(poll, 2000);
    }

    function init() {
        document.querySelectorAll(".o_omnichannel_sandbox").forEach(start);
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", init);
    } else {
        init();
    }
})();
