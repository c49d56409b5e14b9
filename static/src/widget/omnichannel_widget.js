/* Omnichannel Inbox website widget: a floating "Write to us" button that
 * offers the visitor the company's connected messengers (deep links to
 * t.me, wa.me, viber://, vk.me, m.me...) and the live chat, so the visitor
 * picks the channel.  The list comes from Odoo (active channel accounts that
 * have a public handle), so it follows what the admin configures.
 *
 * Plain script on purpose: it is pasted into any website, Odoo or not:
 *   <script src="https://odoo.example.com/omnichannel_inbox/static/src/widget/omnichannel_widget.js"
 *           data-omnichannel-widget="https://odoo.example.com/omnichannel/widget/1" async></script>
 */
(function () {
    "use strict";

    const script = document.currentScript;
    const dataUrl = script && script.dataset.omnichannelWidget;
    if (!dataUrl || window.omnichannelWidgetLoaded) {
        return;
    }
    window.omnichannelWidgetLoaded = true;
    const UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign"];

    const CSS = `
.o_omnichannel_widget { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 14px/1.4 -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.o_omnichannel_widget_toggle { border: 0; border-radius: 24px; padding: 12px 20px; color: #fff;
  background: #714B67; box-shadow: 0 4px 14px rgba(0,0,0,.25); cursor: pointer; font: inherit; font-weight: 600; }
.o_omnichannel_widget_panel { position: absolute; right: 0; bottom: 56px; min-width: 220px; padding: 10px;
  background: #fff; border-radius: 12px; box-shadow: 0 6px 24px rgba(0,0,0,.2); }
.o_omnichannel_widget_panel[hidden] { display: none; }
.o_omnichannel_widget_link { display: block; margin: 6px 0; padding: 9px 14px; border-radius: 8px;
  color: #fff !important; text-decoration: none !important; font-weight: 600; }
.o_omnichannel_widget_link:hover { filter: brightness(.92); }
.o_omnichannel_widget_callback { margin-top: 8px; display: flex; gap: 6px; flex-wrap: wrap; }
.o_omnichannel_widget_callback input { flex: 1; min-width: 140px; padding: 8px; border: 1px solid #ccc; border-radius: 8px; font: inherit; }
.o_omnichannel_widget_callback button { border: 0; border-radius: 8px; padding: 8px 12px; color: #fff; background: #28a745; font: inherit; cursor: pointer; }
.o_omnichannel_widget_answer { width: 100%; font-size: 13px; }
.o_omnichannel_widget_number { display: block; margin: 6px 0; font-weight: 700; font-size: 16px; color: #333 !important; }
`;

    function build(data) {
        const channels = (data && data.channels) || [];
        if (!channels.length && !(data && (data.callback || data.tracking))) {
            return;
        }
        const style = document.createElement("style");
        style.textContent = CSS;
        document.head.appendChild(style);

        const root = document.createElement("div");
        root.className = "o_omnichannel_widget";
        const panel = document.createElement("div");
        panel.className = "o_omnichannel_widget_panel";
        panel.hidden = true;
        panel.id = "o_omnichannel_widget_panel";
        for (const channel of channels) {
            const link = document.createElement("a");
            link.className = "o_omnichannel_widget_link";
            link.dataset.channelType = channel.type;
            link.href = channel.url;
            link.target = "_blank";
            link.rel = "noopener";
            link.textContent = channel.label;
            link.style.background = channel.color || "#333";
            panel.appendChild(link);
        }
        if (data.tracking) {
            addTrackingNumber(panel, data.tracking);
        }
        if (data.callback) {
            addCallback(panel, data.callback);
        }
        const toggle = document.createElement("button");
        toggle.type = "button";
        toggle.className = "o_omnichannel_widget_toggle";
        toggle.textContent = data.title || "Write to us";
        toggle.setAttribute("aria-expanded", "false");
        toggle.setAttribute("aria-controls", panel.id);
        toggle.addEventListener("click", () => {
            panel.hidden = !panel.hidden;
            toggle.setAttribute("aria-expanded", String(!panel.hidden));
        });
        root.appendChild(panel);
        root.appendChild(toggle);
        document.body.appendChild(root);
    }

    /* The visitor's UTM parameters: the page URL's, else the ones an earlier
     * page of this visit carried (kept in sessionStorage). */
    function visitorUtm() {
        const query = new URLSearchParams(window.location.search);
        const utm = {};
        for (const key of UTM_KEYS) {
            utm[key] = (query.get(key) || sessionStorage.getItem("omnichannel_" + key) || "").slice(0, 100);
            if (utm[key]) {
                sessionStorage.setItem("omnichannel_" + key, utm[key]);
            }
        }
        return utm;
    }

    /* Call tracking: the number reserved for this visitor's session (kept in
     * sessionStorage), asked with the page's UTM parameters. */
    function addTrackingNumber(panel, tracking) {
        const link = document.createElement("a");
        link.className = "o_omnichannel_widget_number";
        panel.insertBefore(link, panel.firstChild);
        const body = Object.assign(
            {
                token: sessionStorage.getItem("omnichannel_tracking_token") || "",
                page_url: window.location.href.slice(0, 500),
            },
            visitorUtm()
        );
        fetch(tracking.url, { method: "POST", body: JSON.stringify(body),
            headers: { "Content-Type": "application/json" } })
            .then((response) => (response.ok ? response.json() : null))
            .then((answer) => {
                if (!answer || !answer.number) {
                    link.remove();
                    return;
                }
                sessionStorage.setItem("omnichannel_tracking_token", answer.token);
                link.textContent = `${tracking.label}: ${answer.number}`;
                link.href = "tel:" + answer.number.replace(/[^+\d]/g, "");
            })
            .catch(() => link.remove());
    }

    /* "Call me back": the visitor's number; the answer is Odoo's own words
     * (calling now, shortly, or at what time the office opens). */
    function addCallback(panel, callback) {
        const form = document.createElement("form");
        form.className = "o_omnichannel_widget_callback";
        const input = document.createElement("input");
        input.type = "tel";
        input.name = "phone";
        input.required = true;
        input.maxLength = 40;
        input.placeholder = callback.placeholder;
        input.setAttribute("aria-label", callback.label);
        const send = document.createElement("button");
        send.type = "submit";
        send.textContent = callback.send;
        const answer = document.createElement("div");
        answer.className = "o_omnichannel_widget_answer";
        answer.setAttribute("role", "status");
        form.append(input, send, answer);
        form.addEventListener("submit", (ev) => {
            ev.preventDefault();
            send.disabled = true;
            fetch(callback.url, { method: "POST", headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ phone: input.value, page_url: window.location.href.slice(0, 500),
                    lang: document.documentElement.lang || navigator.language || "" }) })
                .then((response) => response.json().catch(() => ({})))
                .then((result) => {
                    answer.textContent = result.message || result.error || "";
                    answer.style.color = result.ok ? "#1e7e34" : "#b02a37";
                })
                .catch(() => {
                    answer.textContent = "";
                })
                .finally(() => {
                    send.disabled = false;
                });
        });
        const title = document.createElement("div");
        title.textContent = callback.label;
        title.style.fontWeight = "600";
        title.style.marginTop = "8px";
        panel.append(title, form);
    }

    function start() {
        // Default credentials: on the Odoo site itself the session picks the
        // database; on other sites no cookie is sent and Odoo's dbfilter does.
        // The UTM parameters go to Odoo, which puts them in the Telegram
        // link's start payload (t.me/<bot>?start=...).
        const url = new URL(dataUrl, window.location.href);
        for (const [key, value] of Object.entries(visitorUtm())) {
            if (value) {
                url.searchParams.set(key, value);
            }
        }
        fetch(url.href)
            .then((response) => (response.ok ? response.json() : null))
            .then(build)
            .catch(() => {
                /* No widget rather than a broken page. */
            });
    }

    if (document.body) {
        start();
    } else {
        document.addEventListener("DOMContentLoaded", start);
    }
})();
