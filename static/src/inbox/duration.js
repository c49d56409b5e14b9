import { _t } from "@web/core/l10n/translation";

/** A duration the way people say it: "45 s", "12 min", "3 h 05 min", "2 d 4 h". */
export function formatDuration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) {
        return _t("%s s", s);
    }
    const minutes = Math.floor(s / 60);
    if (minutes < 60) {
        return _t("%s min", minutes);
    }
    const hours = Math.floor(minutes / 60);
    if (hours < 24) {
        return _t("%(hours)s h %(minutes)s min", {
            hours,
            minutes: String(minutes % 60).padStart(2, "0"),
        });
    }
    return _t("%(days)s d %(hours)s h", { days: Math.floor(hours / 24), hours: hours % 24 });
}
