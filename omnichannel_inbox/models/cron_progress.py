"""Progress of the addon's batch crons, through Odoo 19's
``ir.cron._commit_progress`` (as ``sms.sms._process_queue`` does): each
handled row is committed as progress, and the remaining count makes the
scheduler run the cron again at once instead of a hand-made self-trigger."""

from odoo import modules


def in_scheduler(env):
    """True in a run of the scheduler (or "Run manually"), which commits row
    by row; False in tests and when code calls a cron method directly: that
    transaction belongs to the caller."""
    return (
        bool(env.context.get("ir_cron_progress_id")) and not modules.module.current_test
    )


def commit_progress(env, processed=0, remaining=None):
    """``ir.cron._commit_progress`` in a run of the scheduler, else nothing;
    returns the seconds left for the run."""
    if not in_scheduler(env):
        return float("inf")
    return env["ir.cron"]._commit_progress(processed, remaining=remaining)
