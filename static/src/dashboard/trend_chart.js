import { Component, onWillStart, onWillUnmount, useEffect, useRef } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { cookie } from "@web/core/browser/cookie";
import { getColor } from "@web/core/colors/colors";

/** One line chart of the dashboard's trends: a line per channel over the
 * period's days or weeks (Chart.js, the library Odoo's graph view loads). */
export class OmnichannelTrendChart extends Component {
    static template = "omnichannel_inbox.TrendChart";
    static props = ["name", "title", "labels", "series", "suggestedMax?"];

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => {
                this.chart?.destroy();
                this.chart = new Chart(this.canvasRef.el, this.config());
            },
            () => [this.props.labels, this.props.series]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    config() {
        return {
            type: "line",
            data: {
                labels: this.props.labels,
                datasets: this.props.series.map((line) => ({
                    label: line.label,
                    data: line.data,
                    borderColor: getColor(line.color, cookie.get("color_scheme"), line.palette),
                    backgroundColor: getColor(line.color, cookie.get("color_scheme"), line.palette),
                    spanGaps: true,
                    tension: 0,
                })),
            },
            options: {
                maintainAspectRatio: false,
                animation: false,
                scales: { y: { beginAtZero: true, suggestedMax: this.props.suggestedMax } },
                plugins: { legend: { position: "bottom" } },
            },
        };
    }
}
