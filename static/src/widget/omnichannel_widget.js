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

    const COLORS = {
        telegram: "#229ED9",
        whatsapp: "#25D366",
        viber: "#7360F2",
        vk: "#0077FF",
        messenger: "#0084FF",
        instagram: "#E1306C",
        email: "#6C757D",
        sms: "#495057",
        livechat: "#714B67",
    };
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
`;

    function build(data) {
        const channels = (data && data.channels) || [];
        if (!channels.length) {
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
            link.style.background = COLORS[channel.type] || "#333";
            panel.appendChild(link);
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

    function start() {
        // Default credentials: on the Odoo site itself the session picks the
        // database; on other sites no cookie is sent and Odoo's dbfilter does.
        fetch(dataUrl)
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
