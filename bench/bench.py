#!/usr/bin/env python3
"""Benchmarks of omnichannel_inbox, run by hand (never in CI).

    python3 bench/bench.py                       # everything, on a fresh database
    python3 bench/bench.py --only ingest,panel   # some of them, named below

Each benchmark prints figures measured in one run on the same Odoo and the
same database, and the ratio the issue sets a target for:

ingest  Telegram-format updates posted by 8 concurrent senders to Odoo with 2
        HTTP and 2 cron workers, rounds interleaved: a bare Odoo JSON route
        that only parses the body, this addon and OCA's mail_gateway_telegram
        (19.0, downloaded from PyPI into the temporary addons folder at each
        run, never committed), for new customers and for messages joining
        their conversations, processing inside the request (default) and in
        the background (acknowledgement); then the journal's drain rate by 1
        and by 2 background processors.
panel   the lead chat panel's data call with 10 and with 10,000 messages, as
        the lead's salesperson in a fresh transaction per call (and as the
        superuser in one transaction, cache emptied, as measured before).
sla     the SLA scheduled action with 100,000 open conversations, 5 due.
pivot   the response-time pivot (as the pivot view reads it) over 1,000,000
        messages.
crypto  the cost of encryption at rest: a channel's connector configuration
        read (send path) and a 1 MB file read (download path), encrypted
        beside clear.
throttle  the sending budget's cost per outbound message (take a place and
        count it as left: two short transactions of their own), alone and with
        4 threads on one channel, beside a whole Sandbox send for scale.
memory  the RSS of Odoo's workers (2 HTTP, 2 cron) after 100 and after
        10,000 Telegram updates posted to the webhook (background mode:
        the HTTP workers journal them, the cron workers process them).
faq     the frequent-questions grouping over 100,000 customer messages of
        the last month (the "Frequent questions" report: read + group).

Needs what the tests need (Odoo 19 importable by python3, PostgreSQL; see
README).  The database (default omnichannel_bench) is dropped and created,
and dropped at the end unless --keep-db."""

import argparse
import getpass
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile

import psycopg2.errors
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SENDERS = 8
WEBHOOK_SECRET = "bench-secret"


def log(*args):
    # This hand-run script reports on its standard output (never run by Odoo).
    print(*args, flush=True)  # pylint: disable=print-used


# -- Odoo around the benchmarks ------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.db = args.db
        self.addons = tempfile.mkdtemp(prefix="omnichannel_bench_")
        os.symlink(REPO, os.path.join(self.addons, "omnichannel_inbox"))
        os.symlink(
            os.path.join(REPO, "bench", "bench_bare_route"),
            os.path.join(self.addons, "bench_bare_route"),
        )
        self.db_args = [
            "--db_host",
            args.db_host,
            "--db_port",
            str(args.db_port),
            "--db_user",
            args.db_user,
        ]
        # Odoo's multi-worker server starts its websocket process again from
        # sys.argv[0]: it must be a script, not "python3 -m odoo".
        self.launcher = os.path.join(self.addons, "odoo_server.py")
        with open(self.launcher, "w") as f:
            # The websocket process (the chat panel's bus) is not measured:
            # it stays idle rather than be started again and again by the
            # server when this machine lacks one of its packages (gevent's
            # zope.interface), which would steal the cores being measured.
            f.write(
                "import sys, time\n"
                "if sys.argv[1:2] == ['gevent']:\n"
                "    while True:\n"
                "        time.sleep(3600)\n"
                "from odoo.cli.command import main\n"
                "main()\n"
            )
        self.registry = None
        self.oca = "ingest" in args.only and fetch_oca_gateway(self.addons)

    def odoo(self, *extra, **popen):
        cmd = (
            [
                sys.executable,
                self.launcher,
                "server",
                "-d",
                self.db,
                "--addons-path",
                self.addons,
                "--db-filter",
                f"^{self.db}$",
            ]
            + self.db_args
            + list(extra)
        )
        return subprocess.Popen(cmd, **popen)

    def create_database(self):
        import odoo.service.db
        from odoo.tools import config

        config._parse_config(["--addons-path", self.addons] + self.db_args)
        if self.db in odoo.service.db.list_dbs(force=True):
            odoo.service.db.exp_drop(self.db)
        log(f"Installing omnichannel_inbox on a fresh database {self.db!r} ...")
        started = time.monotonic()
        modules = "omnichannel_inbox,bench_bare_route"
        if self.oca:
            modules += ",mail_gateway_telegram"
        proc = self.odoo(
            "-i",
            modules,
            "--stop-after-init",
            "--log-level",
            "warn",
        )
        if proc.wait() != 0:
            sys.exit("installation failed")
        log("  installed in %.0f s" % (time.monotonic() - started))

    def env(self):
        """(cursor, env) as superuser; the caller commits and closes."""
        import odoo
        from odoo.modules.registry import Registry

        if self.registry is None:
            self.registry = Registry(self.db)
        cr = self.registry.cursor()
        return cr, odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})

    def cleanup(self):
        shutil.rmtree(self.addons, ignore_errors=True)
        if not self.args.keep_db:
            import odoo.service.db

            if self.registry is not None:
                self.registry.delete(self.db)
                self.registry = None
            odoo.service.db.exp_drop(self.db)


#: OCA's Telegram gateway for Odoo 19, read from PyPI at each run (never
#: committed): the peer the ingestion figures are compared with.
OCA_PACKAGES = ("odoo-addon-mail-gateway", "odoo-addon-mail-gateway-telegram")


def fetch_oca_gateway(addons):
    """Download OCA's mail_gateway and mail_gateway_telegram (19.0) with pip
    into ``addons``; False when they cannot be had (no network)."""
    wheels = tempfile.mkdtemp(prefix="oca_wheels_")
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", wheels]
            + [f"{name}>=19.0,<19.1" for name in OCA_PACKAGES],
            check=True,
            timeout=300,
        )
        for wheel in os.listdir(wheels):
            with zipfile.ZipFile(os.path.join(wheels, wheel)) as z:
                z.extractall(os.path.join(wheels, "x"))
        for name in ("mail_gateway", "mail_gateway_telegram"):
            shutil.copytree(
                os.path.join(wheels, "x", "odoo", "addons", name),
                os.path.join(addons, name),
            )
    except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
        log(f"OCA's gateway could not be downloaded ({exc}): compared with nothing")
        return False
    finally:
        shutil.rmtree(wheels, ignore_errors=True)
    # Its manifest asks for lottie and cairosvg, used only to convert
    # stickers (imported in a try): text messages need neither.
    manifest = os.path.join(addons, "mail_gateway_telegram", "__manifest__.py")
    with open(manifest) as f:
        text = f.read()
    with open(manifest, "w") as f:
        f.write(text.replace(', "lottie", "cairosvg"', ""))
    return True


def timed(func, runs):
    """Median wall time of ``func()`` over ``runs`` runs, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100.0 * (len(values) - 1))))]


def columns(cr, table, without=()):
    cr.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [c for (c,) in cr.fetchall() if c not in without and c != "id"]


def clone_rows(cr, table, source_id, count, replace):
    """Insert ``count`` copies of row ``source_id`` of ``table``, with the SQL
    expressions of ``replace`` (they may use ``g``, 1..count); return ids."""
    cols = columns(cr, table)
    select = [replace.get(c, f"s.{c}") for c in cols]
    cr.execute(
        "INSERT INTO {t} ({cols}) SELECT {sel}"
        " FROM {t} s, generate_series(1, %s) g WHERE s.id = %s "
        "RETURNING id".format(
            t=table,
            cols=", ".join(f'"{c}"' for c in cols),
            sel=", ".join(select),
        ),
        [count, source_id],
    )
    return [r[0] for r in cr.fetchall()]


def sandbox_history(env, session, text="Hello"):
    """A customer's first message through the real pipeline: returns its
    conversation (with partner, lead)."""
    from odoo.addons.omnichannel_inbox import connectors

    channel = env["omnichannel.channel"].search(
        [("channel_type", "=", "sandbox")], limit=1
    ) or env["omnichannel.channel"].create(
        {"name": "Bench sandbox", "channel_type": "sandbox"}
    )
    event = connectors.InboundMessage(
        event_id=f"bench-{uuid.uuid4().hex}",
        message_id=f"bench-{uuid.uuid4().hex}",
        sender=connectors.Contact(user_id=session, name=f"Customer {session}"),
        chat_id=session,
        date=time.time(),
        text=text,
    )
    rows = env["omnichannel.inbound.event"]._journal(channel, [event])
    rows._process()
    return rows.conversation_id


def clone_messages(cr, conversation, count, spacing="1 minute"):
    """Give ``conversation`` ``count`` more messages (mail and channel rows),
    copies of its first one spaced back in time."""
    cr.execute(
        "SELECT id, mail_message_id FROM omnichannel_message"
        " WHERE conversation_id = %s ORDER BY id LIMIT 1",
        [conversation.id],
    )
    message_id, mail_id = cr.fetchone()
    mail_cols = columns(cr, "mail_message")
    mail_select = [
        {
            "date": f"s.date - g * interval '{spacing}'",
            "message_id": "s.message_id || '-' || g",
        }.get(c, f"s.{c}")
        for c in mail_cols
    ]
    cols = columns(cr, "omnichannel_message")
    select = [
        {
            "mail_message_id": "ins.id",
            "date": "ins.date",
            "provider_message_id": "'bench-' || ins.id",
        }.get(c, f"s.{c}")
        for c in cols
    ]
    cr.execute(
        """
        WITH ins AS (
            INSERT INTO mail_message ({mail_cols}) SELECT {mail_select}
              FROM mail_message s, generate_series(1, %s) g WHERE s.id = %s
            RETURNING id, date)
        INSERT INTO omnichannel_message ({cols}) SELECT {select}
          FROM ins, omnichannel_message s WHERE s.id = %s
    """.format(
            mail_cols=", ".join(f'"{c}"' for c in mail_cols),
            mail_select=", ".join(mail_select),
            cols=", ".join(f'"{c}"' for c in cols),
            select=", ".join(select),
        ),
        [count, mail_id, message_id],
    )


# -- (a) ingestion ---------------------------------------------------------------
def set_deferred(bench, deferred):
    cr, env = bench.env()
    env["ir.config_parameter"].set_param(
        "omnichannel_inbox.deferred_processing", "True" if deferred else ""
    )
    cr.commit()
    cr.close()
    # Tell the server's workers their cached parameters are stale (a plain
    # cursor's commit does not): they read it again on their next request.
    bench.registry.signal_changes()
    time.sleep(1.5)


def set_processors(bench, count):
    """Keep ``count`` of the journal's processors (scheduled actions) active,
    and wake them.  A processor still running holds its own row (Odoo
    refuses the change, or it fails to serialize with the run's end): the
    switch is tried again."""
    from odoo.exceptions import UserError

    for attempt in range(30):
        cr, env = bench.env()
        try:
            Journal = env["omnichannel.inbound.event"].with_context(active_test=False)
            crons = Journal._processor_crons().sorted("id")
            for n, cron in enumerate(crons):
                cron.active = n < count
            cr.commit()
            for cron in crons[:count]:
                cron._trigger()
            cr.commit()
            return
        except (psycopg2.errors.SerializationFailure, UserError):
            cr.rollback()
            time.sleep(0.5 * (attempt + 1))
        finally:
            cr.close()
    raise RuntimeError("the journal's processors could not be switched")


def bench_telegram_channel(env, name="Bench bot"):
    """A Telegram channel whose webhook the senders post to (its outgoing
    calls go to a closed port), for a sales team with a salesperson on duty
    at any hour: a new customer's conversation and lead are assigned to
    them (the assignment, the follower and the alert are measured), and a
    message joins a conversation someone handles, as in a deployment that
    routes customers (and as tests/test_pipeline_cost.py counts it).  Without
    a team nobody is ever assigned and every message is routed again."""
    salesperson = env["res.users"].create(
        {
            "name": f"{name} salesperson",
            "login": f"{name.lower().replace(' ', '_')}_salesperson",
            "group_ids": [
                (4, env.ref("sales_team.group_sale_salesman").id),
                (4, env.ref("omnichannel_inbox.group_omnichannel_user").id),
            ],
        }
    )
    team = env["crm.team"].create(
        {
            "name": f"{name} team",
            "member_ids": [(6, 0, salesperson.ids)],
            "omnichannel_on_duty_user_id": salesperson.id,
        }
    )
    return env["omnichannel.channel"].create(
        {
            "name": name,
            "channel_type": "telegram",
            "token": "1:BENCH",
            "webhook_secret": WEBHOOK_SECRET,
            "api_base_url": "http://127.0.0.1:9",
            "team_id": team.id,
        }
    )


def start_server(bench, workers=2, crons=2):
    """Odoo with ``workers`` HTTP workers and ``crons`` cron workers on a free
    port: (process, base url), once it answers."""
    port = free_port()
    server = bench.odoo(
        "--workers",
        str(workers),
        "--max-cron-threads",
        str(crons),
        "--http-port",
        str(port),
        "--http-interface",
        "127.0.0.1",
        "--log-level",
        "warn",
        "--limit-time-real",
        "600",
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(bench.addons, "server.log"), "a"),
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/web/health")
    return server, base


class Senders:
    """Telegram-format updates posted by SENDERS concurrent threads."""

    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
    }

    def __init__(self):
        self.lock = threading.Lock()
        self.counter = iter(range(1, 10**9))

    def update(self, user_id):
        with self.lock:
            n = next(self.counter)
        return {
            "update_id": n,
            "message": {
                "message_id": n,
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": f"Customer {user_id}",
                },
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "text": f"Do you have sofa #{n} in stock?",
            },
        }

    def run(self, url, user_ids):
        """Post one update per user id in ``user_ids`` from SENDERS threads;
        (requests per second, latencies)."""
        latencies = []
        queue = list(user_ids)

        def sender():
            session = requests.Session()
            mine = []
            while True:
                with self.lock:
                    if not queue:
                        break
                    user_id = queue.pop()
                body = json.dumps(self.update(user_id)).encode()
                started = time.perf_counter()
                response = session.post(
                    url, data=body, headers=self.headers, timeout=60
                )
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(
                        f"{url} answered {response.status_code}: {response.text[:200]}"
                    )
            with self.lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return len(latencies) / (time.perf_counter() - started), latencies


def bench_ingest(bench):
    log(
        f"\n(a) Webhook ingestion: {SENDERS} concurrent senders, Telegram updates; "
        "ours, OCA's mail_gateway_telegram and a bare route, rounds interleaved"
    )
    cr, env = bench.env()
    channel = bench_telegram_channel(env)
    key = channel.webhook_key
    if bench.oca:
        env["mail.gateway"].create(
            {
                "name": "OCA bench bot",
                "token": "2:OCA",
                "gateway_type": "telegram",
                "webhook_key": "oca-bench",
                "webhook_secret": WEBHOOK_SECRET,
                "integrated_webhook_state": "integrated",
            }
        )
    cr.commit()
    cr.close()
    set_deferred(bench, False)

    server, base = start_server(bench)
    try:
        log(f"  Odoo with 2 HTTP workers and 2 cron workers at {base}")
        senders = Senders()
        lock = senders.lock
        run = senders.run
        fresh = iter(range(7_000_000, 10**9))

        urls = {
            "bare": base + "/bench/bare",
            "ours": base + f"/omnichannel/webhook/{key}",
            "oca": base + "/gateway/telegram/oca-bench/update",
        }
        systems = ["ours", "oca"] if bench.oca else ["ours"]
        known = {name: [] for name in systems}

        def new_customers(name, count):
            with lock:
                ids = [next(fresh) for _ in range(count)]
            known[name].extend(ids)
            return ids

        def joining(name, count):
            pool = known[name]
            return [pool[i % len(pool)] for i in range(count)]

        n = bench.args.requests
        # Warm the workers up (registry, caches) on every route.
        run(urls["bare"], range(SENDERS * 5))
        for name in systems:
            run(urls[name], new_customers(name, SENDERS * 5))
        results = {}

        def record(label, rate_latencies):
            rates, latencies = results.setdefault(label, ([], []))
            rates.append(rate_latencies[0])
            latencies.extend(rate_latencies[1])

        load_before = os.getloadavg()
        for _round in range(bench.args.rounds):
            set_deferred(bench, False)
            record("bare", run(urls["bare"], range(n)))
            for name in systems:
                record(f"{name} new", run(urls[name], new_customers(name, n)))
                record(f"{name} join", run(urls[name], joining(name, n)))
            set_deferred(bench, True)
            record("bare bg", run(urls["bare"], range(n)))
            record("ours bg new", run(urls["ours"], new_customers("ours", n)))
            record("ours bg join", run(urls["ours"], joining("ours", n)))
            wait_processed(bench, channel.id, timeout=1800)
        load_after = os.getloadavg()

        report_ingest(results, bench.oca, load_before, load_after)
        measure_drain(
            bench, channel.id, lambda users: run(urls["ours"], users), new_customers
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


def report_ingest(results, oca, load_before, load_after):
    def rate(label):
        return statistics.median(results[label][0])

    def p99(label):
        return 1000 * percentile(results[label][1], 99)

    log(
        f"  load average before / after the rounds: {load_before[0]:.1f} / "
        f"{load_after[0]:.1f} (2 cores; other work on the machine included)"
    )
    log(f"  {'route':<22} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for label in results:
        log(
            f"  {label:<22} {rate(label):7.1f}"
            f" {1000 * percentile(results[label][1], 50):8.1f} {p99(label):8.1f}"
        )
    for kind, target in (("new", 2.5), ("join", 5.0)):
        if oca:
            log(
                f"  default mode, {kind}: ours / OCA = "
                f"{rate(f'ours {kind}') / rate(f'oca {kind}'):.2f} "
                f"(target >= {target})"
            )
        log(
            f"  default mode, {kind}: p99 ours / bare = "
            f"{p99(f'ours {kind}') / p99('bare'):.2f} (target <= 3)"
        )
        log(
            f"  background, {kind}: acknowledgement ours / bare = "
            f"{rate(f'ours bg {kind}') / rate('bare bg'):.2f} (target >= 0.8), "
            f"p99 ours / bare = {p99(f'ours bg {kind}') / p99('bare bg'):.2f} "
            "(target <= 1.5)"
        )


def measure_drain(bench, channel_id, post, new_customers):
    """Drain rate of the journal by 1 and by 2 processors: the journal is
    filled while they are off, then they are woken and timed."""
    set_deferred(bench, True)
    drained = {}
    for processors in (1, 2):
        set_processors(bench, 0)
        first_id = max_event_id(bench)
        customers = new_customers("ours", bench.args.drain // 2)
        post(customers + customers)
        started = time.perf_counter()
        set_processors(bench, processors)
        wait_processed(bench, channel_id, timeout=1800)
        elapsed = time.perf_counter() - started
        linked = count_linked(bench, first_id)
        drained[processors] = linked / elapsed
        log(
            f"  drain with {processors} processor(s): {linked} messages "
            f"({len(customers)} new customers, 2 each) stored and linked in "
            f"{elapsed:.1f} s: {drained[processors]:.1f} messages/s"
        )
    set_processors(bench, 2)
    log(f"  drain, 2 processors / 1: {drained[2] / drained[1]:.2f} (target >= 1.7)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit(f"Odoo did not start at {url}")


def max_event_id(bench):
    cr, env = bench.env()
    try:
        cr.execute("SELECT COALESCE(MAX(id), 0) FROM omnichannel_inbound_event")
        return cr.fetchone()[0]
    finally:
        cr.close()


def wait_processed(bench, channel_id, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cr, env = bench.env()
        try:
            cr.execute(
                "SELECT count(*) FROM omnichannel_inbound_event"
                " WHERE channel_id = %s AND state = 'pending'",
                [channel_id],
            )
            if not cr.fetchone()[0]:
                return
        finally:
            cr.close()
        time.sleep(0.2)
    sys.exit(f"the journal was not processed within {timeout} s")


def count_linked(bench, after_id):
    cr, env = bench.env()
    try:
        cr.execute(
            """
            SELECT count(*) FROM omnichannel_inbound_event e
              JOIN omnichannel_message m ON m.id = e.message_id
              JOIN omnichannel_conversation c ON c.id = m.conversation_id
             WHERE e.id > %s AND e.state = 'done'
               AND m.partner_id IS NOT NULL AND m.lead_id IS NOT NULL
        """,
            [after_id],
        )
        return cr.fetchone()[0]
    finally:
        cr.close()


# -- (b) the chat panel ----------------------------------------------------------
def bench_panel(bench):
    log("\n(b) Chat panel data call (first page of the lead panel)")
    import odoo

    cr, env = bench.env()
    small = sandbox_history(env, "panel-small")
    page = sandbox_history(env, "panel-page")
    large = sandbox_history(env, "panel-large")
    clone_messages(cr, small, 9)
    clone_messages(cr, page, 29)
    clone_messages(cr, large, 9999)
    # The lead's salesperson: an internal user with the salesperson groups
    # who owns the leads and their conversations (record rules apply).
    groups = env.ref("sales_team.group_sale_salesman") | env.ref(
        "omnichannel_inbox.group_omnichannel_user"
    )
    salesperson = env["res.users"].create(
        {
            "name": "Bench salesperson",
            "login": f"bench-sales-{uuid.uuid4().hex[:8]}",
            "group_ids": [(6, 0, groups.ids)],
        }
    )
    histories = {"10": small, "30": page, "10,000": large}
    for conversation in histories.values():
        conversation.user_id = salesperson
        conversation.lead_id.user_id = salesperson
    env.flush_all()
    # The histories were inserted in bulk: the planner's statistics are
    # refreshed, as autovacuum does after such a change (without it the
    # 10,000-message lead is read by a plan for a dozen rows: 2x slower).
    cr.execute("ANALYZE omnichannel_message")
    cr.execute("ANALYZE mail_message")
    cr.commit()
    Message = env["omnichannel.message"]
    counts = {
        name: Message.search_count([("conversation_id", "=", c.id)])
        for name, c in histories.items()
    }
    leads = {name: c.lead_id.id for name, c in histories.items()}
    cr.close()

    def as_salesperson(lead_id):
        # A fresh transaction and environment per call, as a web request
        # has: new cursor, empty record cache, the user's record rules.
        with bench.registry.cursor() as ucr:
            uenv = odoo.api.Environment(
                ucr, salesperson.id, {"lang": "en_US", "tz": "UTC"}
            )
            uenv["omnichannel.message"].panel_fetch("crm.lead", lead_id)

    def as_superuser(lead_id):
        # What this benchmark measured before: superuser, one transaction,
        # the record cache emptied before each call.
        senv.invalidate_all()
        senv["omnichannel.message"].panel_fetch("crm.lead", lead_id)

    scr, senv = bench.env()
    try:
        for label, call in (
            ("the lead's salesperson, a fresh transaction per call", as_salesperson),
            ("superuser, one transaction, cache emptied", as_superuser),
        ):
            times = {name: [] for name in histories}
            for name in histories:
                call(leads[name])  # warm the registry's caches
            # Rounds interleaved: a load change on the machine weighs on
            # every history alike.
            for _round in range(30):
                for name in histories:
                    started = time.perf_counter()
                    call(leads[name])
                    times[name].append(time.perf_counter() - started)
            figures = {name: statistics.median(t) for name, t in times.items()}
            log(f"  {label}:")
            for name in histories:
                log(
                    f"    lead with {counts[name]:6d} messages: "
                    f"{1000 * figures[name]:.1f} ms (median of 30)"
                )
            log(
                "    10,000 / 10 messages: %.2f (target <= 1.2)"
                % (figures["10,000"] / figures["10"])
            )
            # The first page holds 30 messages: a lead with 10 renders a
            # third of what every longer history renders.
            log(
                "    10,000 / 30 messages (one full page): %.2f"
                % (figures["10,000"] / figures["30"])
            )
            scr.rollback()
    finally:
        scr.close()


# -- (h) a worker's memory -------------------------------------------------------
def worker_memory(server_pid):
    """{pid: (kind, RSS in bytes)} of the Odoo server's worker processes (its
    children; the idle websocket stand-in left out). Cron workers are the
    ones Odoo starts with a nice value of 10."""
    workers = {}
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil:
        for child in psutil.Process(server_pid).children():
            try:
                if "gevent" in child.cmdline():
                    continue
                kind = "cron" if child.nice() > 0 else "http"
                workers[child.pid] = (kind, child.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        return workers
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            with open(f"/proc/{entry}/stat") as f:
                nice = int(f.read().rsplit(")", 1)[1].split()[16])
            with open(f"/proc/{entry}/cmdline") as f:
                cmdline = f.read()
        except OSError:
            continue
        if int(status["PPid"]) != server_pid or "gevent" in cmdline:
            continue
        rss = int(status.get("VmRSS", "0 kB").split()[0]) * 1024
        workers[int(entry)] = ("cron" if nice > 0 else "http", rss)
    return workers


def bench_memory(bench):
    total = max(bench.args.memory_messages, 200)
    log(
        f"\n(h) Worker memory after 100 and after {total:,} Telegram messages "
        "(background processing, 2 HTTP and 2 cron workers)"
    )
    cr, env = bench.env()
    channel = bench_telegram_channel(env, "Bench memory bot")
    url_path = f"/omnichannel/webhook/{channel.webhook_key}"
    channel_id = channel.id
    cr.commit()
    cr.close()
    set_deferred(bench, True)
    set_processors(bench, 2)
    server, base = start_server(bench)
    try:
        senders = Senders()
        url = base + url_path
        first_new = 8_000_000
        customers = list(range(first_new, first_new + 100))
        # The first 100 messages: 100 new customers.
        senders.run(url, customers)
        wait_processed(bench, channel_id, timeout=1800)
        time.sleep(2)
        before = worker_memory(server.pid)
        load_before = os.getloadavg()
        started = time.monotonic()
        sent, next_new = 100, first_new + 100
        while sent < total:
            batch = []
            for i in range(sent, min(sent + 1000, total)):
                # Nine in ten join a conversation, one in ten is a new customer.
                if i % 10 == 0:
                    customers.append(next_new)
                    next_new += 1
                    batch.append(customers[-1])
                else:
                    batch.append(customers[i % len(customers)])
            senders.run(url, batch)
            wait_processed(bench, channel_id, timeout=3600)
            sent += len(batch)
            now = worker_memory(server.pid)
            log(
                f"  {sent:6d} messages processed "
                f"({sent / (time.monotonic() - started):.1f} messages/s): "
                + ", ".join(
                    f"{kind} {pid} {rss / 2**20:.0f} MiB"
                    for pid, (kind, rss) in sorted(now.items())
                )
            )
        time.sleep(2)
        after = worker_memory(server.pid)
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=60)
    report_memory(before, after, total, load_before, load_after)


def report_memory(before, after, total, load_before, load_after):
    log(
        f"  load average before / after: {load_before[0]:.1f} / "
        f"{load_after[0]:.1f} (2 cores; other work on the machine included)"
    )
    log(f"  {'worker':<12} {'after 100':>10} {f'after {total:,}':>14} {'ratio':>7}")
    ratios = []
    for pid, (kind, rss) in sorted(before.items()):
        if pid not in after:
            log(f"  {kind} {pid:<7} {rss / 2**20:7.0f} MiB   (recycled by Odoo)")
            continue
        ratio = after[pid][1] / rss
        ratios.append(ratio)
        log(
            f"  {kind} {pid:<7} {rss / 2**20:7.0f} MiB "
            f"{after[pid][1] / 2**20:10.0f} MiB {ratio:7.2f}"
        )
    for pid, (kind, rss) in sorted(after.items()):
        if pid not in before:
            log(
                f"  {kind} {pid:<7} {'-':>10} {rss / 2**20:10.0f} MiB   (started since)"
            )
    if ratios:
        log(
            f"  worst worker, after {total:,} / after 100: {max(ratios):.2f} "
            "(target <= 1.2)"
        )


# -- (c) the SLA scheduled action -------------------------------------------------
def bench_sla(bench):
    log("\n(c) SLA scheduled action with 100,000 open conversations, 5 due")
    cr, env = bench.env()
    template = sandbox_history(env, "sla-template")
    cr.commit()
    identity = template.identity_id
    id_cols = columns(cr, "omnichannel_identity")
    id_select = [
        {"provider_user_id": "'sla-' || g", "chat_id": "'sla-' || g"}.get(c, f"s.{c}")
        for c in id_cols
    ]
    cols = columns(cr, "omnichannel_conversation")
    select = [
        {
            "identity_id": "ins.id",
            "state": "'open'",
            "sla_next_action_date": "now() AT TIME ZONE 'UTC' + interval '1 day'"
            " + ins.id * interval '1 second'",
        }.get(c, f"s.{c}")
        for c in cols
    ]
    cr.execute(
        """
        WITH ins AS (
            INSERT INTO omnichannel_identity ({id_cols}) SELECT {id_select}
              FROM omnichannel_identity s, generate_series(1, 99999) g WHERE s.id = %s
            RETURNING id)
        INSERT INTO omnichannel_conversation ({cols}) SELECT {select}
          FROM ins, omnichannel_conversation s
         WHERE s.id = %s RETURNING id
    """.format(
            id_cols=", ".join(f'"{c}"' for c in id_cols),
            id_select=", ".join(id_select),
            cols=", ".join(f'"{c}"' for c in cols),
            select=", ".join(select),
        ),
        [identity.id, template.id],
    )
    ids = [r[0] for r in cr.fetchall()]
    cr.execute("ANALYZE omnichannel_conversation")
    cr.commit()
    Conversation = env["omnichannel.conversation"]
    log(f"  open conversations: {Conversation.search_count([('state', '=', 'open')])}")

    def make_due():
        cr.execute(
            "UPDATE omnichannel_conversation"
            " SET sla_next_action_date = now() AT TIME ZONE 'UTC' - "
            "interval '1 minute' WHERE id = ANY(%s)",
            [ids[:5]],
        )
        cr.commit()
        env.invalidate_all()

    times = []
    for _ in range(7):
        make_due()
        started = time.perf_counter()
        handled = Conversation._cron_sla()
        times.append(time.perf_counter() - started)
    log(
        f"  SLA action: {1000 * statistics.median(times):.0f} ms (median of 7; "
        f"{len(handled or [])} conversations handled in the last run; target < 500 ms)"
    )
    cr.close()


# -- (d) the response-time pivot --------------------------------------------------
def bench_pivot(bench):
    log("\n(d) Response-time pivot over 1,000,000 messages")
    cr, env = bench.env()
    conversation = sandbox_history(env, "pivot-template")
    cr.commit()
    cr.execute(
        "SELECT id FROM omnichannel_message WHERE conversation_id = %s LIMIT 1",
        [conversation.id],
    )
    source = cr.fetchone()[0]
    channel_ids = env["omnichannel.channel"].search([]).ids
    started = time.monotonic()
    # Half customer messages, half answers carrying their figures, over a year.
    clone_rows(
        cr,
        "omnichannel_message",
        source,
        1000000,
        {
            "mail_message_id": "NULL",
            "provider_message_id": "'pivot-' || g",
            "channel_id": f"(ARRAY{channel_ids})[1 + g %% {len(channel_ids)}]",
            "direction": "CASE WHEN g %% 2 = 0 THEN 'out' ELSE 'in' END",
            "date": "now() AT TIME ZONE 'UTC' - (g %% 525600) * interval '1 minute'",
            "response_from": "CASE WHEN g %% 2 = 0"
            " THEN now() AT TIME ZONE 'UTC' - (g %% 525600) * interval '1 minute' "
            "- (g %% 7200) * interval '1 second' END",
            "response_seconds": "CASE WHEN g %% 2 = 0 THEN g %% 7200 END",
            "response_business_seconds": "CASE WHEN g %% 2 = 0 THEN g %% 3600 END",
            "response_sla_status": "CASE WHEN g %% 2 = 0"
            " THEN (CASE WHEN g %% 7200 < 900 THEN 'met' ELSE 'breached' END) END",
        },
    )
    cr.execute("ANALYZE omnichannel_message")
    cr.commit()
    log("  generated in %.0f s" % (time.monotonic() - started))
    Report = env["omnichannel.report.response"]
    measures = [
        "response_hours:avg",
        "response_hours_median:avg",
        "business_hours:avg",
        "sla_compliance:avg",
    ]
    year_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
    month_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 31 * 86400))
    for label, since in (("last month", month_ago), ("whole year", year_ago)):

        def read(measures=tuple(measures), since=since):
            env.invalidate_all()
            Report.formatted_read_group(
                [("date", ">=", since)], ["channel_id", "date:month"], measures
            )

        read()
        with_median = timed(read, 5)
        without = timed(lambda: read([m for m in measures if "median" not in m]), 5)
        log(
            f"  {label:<10} by channel and month: {with_median:.2f} s with medians, "
            f"{without:.2f} s without (median of 5; target < 1 s)"
        )
    cr.close()


# -- (e) encryption at rest ---------------------------------------------------------
def bench_crypto(bench):
    log(
        "\n(e) Encryption at rest: send path (connector configuration) "
        "and download path (1 MB file)"
    )
    cr, env = bench.env()
    Channel = env["omnichannel.channel"]
    secrets = {
        "token": "123456:" + "A" * 35,
        "webhook_secret": "w" * 32,
        "app_secret": "a" * 32,
        "verify_token": "v" * 24,
    }
    encrypted = Channel.create(
        dict(secrets, name="Bench encrypted", channel_type="telegram")
    )
    clear = Channel.create(dict(name="Bench clear", channel_type="telegram"))
    env.flush_all()
    # the same secrets left in clear, as an older version stored them (read as they are)
    cr.execute(
        "UPDATE omnichannel_channel SET token = %s, webhook_secret = %s,"
        " app_secret = %s, verify_token = %s "
        "WHERE id = %s",
        [
            secrets["token"],
            secrets["webhook_secret"],
            secrets["app_secret"],
            secrets["verify_token"],
            clear.id,
        ],
    )
    conversation = sandbox_history(env, "crypto")
    data = os.urandom(1024 * 1024)
    Attachment = env["ir.attachment"]
    env.company.omnichannel_encrypt_files = False
    clear_file = Attachment.create(
        {
            "name": "clear.bin",
            "raw": data,
            "res_model": "omnichannel.conversation",
            "res_id": conversation.id,
        }
    )
    env.company.omnichannel_encrypt_files = True
    encrypted_file = Attachment.create(
        {
            "name": "encrypted.bin",
            "raw": data + b".",
            "res_model": "omnichannel.conversation",
            "res_id": conversation.id,
        }
    )
    cr.commit()
    assert encrypted_file.store_fname.startswith(
        "oc-enc-"
    ) and not clear_file.store_fname.startswith("oc-enc-")
    rows = []
    for label, records, read in (
        (
            "send path: connector configuration read",
            (clear, encrypted),
            lambda r: r._connector_config(),
        ),
        (
            "download path: 1 MB file read",
            (clear_file, encrypted_file),
            lambda r: r.raw,
        ),
    ):
        figures = []
        for record in records:

            def call(record=record, read=read):
                env.invalidate_all()
                read(record)

            call()
            figures.append(timed(call, 200 if "send" in label else 50))
        rows.append((label, figures))
        log(
            f"  {label:<42} clear {1000 * figures[0]:.3f} ms, "
            f"encrypted {1000 * figures[1]:.3f} ms "
            f"(+{1000 * (figures[1] - figures[0]):.3f} ms, "
            f"x{figures[1] / figures[0]:.2f})"
        )
    cr.close()
    return rows


# -- (f) outbound throttling ------------------------------------------------------
def bench_throttle(bench, runs=2000, threads=4):
    log("\n(f) Sending budget: cost per outbound message of the budget check")
    cr, env = bench.env()
    conversation = sandbox_history(env, "throttle")
    conversation.channel_id.write(
        {"send_rate": 1e6, "send_chat_rate": 1e6}
    )  # never refuses: the cost alone
    cr.commit()
    message = conversation._post_reply("Bench", author_kind="auto")
    cr.commit()
    Budget = env["omnichannel.send.budget"]

    def check():
        wait, grant, _wide = Budget._acquire(message)
        Budget._release(grant)

    check()
    per_check = timed(check, runs)
    log(
        f"  take a place + count it sent:  {1000 * per_check:.2f} ms per message "
        f"(median of {runs})"
    )

    def send():
        message.write({"status": "queued"})
        message._send()

    per_send = timed(send, 200)
    log(
        f"  whole Sandbox send (budget included): {1000 * per_send:.2f} ms per "
        f"message; budget share {100 * per_check / per_send:.0f} %"
    )

    def worker(count, out):
        wcr, wenv = bench.env()
        wmessage = wenv["omnichannel.message"].browse(message.id)
        WBudget = wenv["omnichannel.send.budget"]
        started = time.perf_counter()
        for _ in range(count):
            _wait, grant, _wide = WBudget._acquire(wmessage)
            WBudget._release(grant)
        out.append(time.perf_counter() - started)
        wcr.close()

    durations = []
    each = runs // threads
    pool = [
        threading.Thread(target=worker, args=(each, durations)) for _ in range(threads)
    ]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    total = time.perf_counter() - started
    log(
        f"  {threads} threads on one channel: {each * threads / total:.0f} checks/s "
        f"in all ({1000 * total / (each * threads):.2f} ms each, one row lock shared)"
    )

    # The budget holds across connections: 4 threads ask as fast as they can
    # for 3 s on a channel limited to 50/s; count the places given per second.
    rate = 50
    conversation.channel_id.write({"send_rate": rate, "send_chat_rate": 0})
    cr.commit()
    granted = []

    def greedy(out):
        wcr, wenv = bench.env()
        wmessage = wenv["omnichannel.message"].browse(message.id)
        WBudget = wenv["omnichannel.send.budget"]
        end = time.monotonic() + 3
        while time.monotonic() < end:
            wait, grant, _wide = WBudget._acquire(wmessage)
            if grant:
                WBudget._release(grant)
                out.append(time.time())
            elif wait:
                time.sleep(min(wait, 0.05))
        wcr.close()

    pool = [threading.Thread(target=greedy, args=(granted,)) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    granted.sort()
    most, first = 0, 0
    for last, moment in enumerate(granted):
        while moment - granted[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    log(
        f"  {threads} threads, budget {rate}/s "
        f"(automatic: {rate - round(rate * 0.2)}/s) for 3 s: "
        f"{len(granted)} sent, at most {most} in any second"
    )


# -- (g) frequent questions --------------------------------------------------------
FAQ_TEMPLATES = [
    "Сколько стоит доставка {p} в {c}?",
    "Есть ли {p} в наличии?",
    "Какая гарантия на {p}?",
    "Можно оплатить {p} картой?",
    "Когда привезут мой {p}? Заказ {n}",
    "Хочу вернуть {p}",
    "Какие размеры у {p}?",
    "Есть ли скидка на {p}?",
    "How much is delivery of the {p} to {c}?",
    "Is the {p} in stock?",
    "Where is my order {n}?",
    "Can I pay for the {p} by card?",
]
FAQ_PRODUCTS = [
    "диван",
    "кресло",
    "стол",
    "стул",
    "шкаф",
    "кровать",
    "матрас",
    "комод",
    "sofa",
    "chair",
    "table",
]
FAQ_CITIES = ["Москву", "Казань", "Пермь", "Тверь", "Moscow", "Kazan"]


def faq_texts(count, seed=17):
    """Customer questions as they come: a few dozen topics in many
    wordings, with order numbers, typos (a dropped letter) and one in five
    an unrelated text of its own."""
    import random

    rnd = random.Random(seed)
    words = [
        "привет",
        "помогите",
        "срочно",
        "ещё",
        "пожалуйста",
        "вчера",
        "завтра",
        "цвет",
        "ткань",
        "кожа",
        "белый",
        "серый",
        "угловой",
    ]
    texts = []
    for _ in range(count):
        if rnd.random() < 0.2:
            texts.append(
                " ".join(
                    rnd.choice(words) + str(rnd.randint(1, 999))
                    for _ in range(rnd.randint(2, 8))
                )
            )
            continue
        text = rnd.choice(FAQ_TEMPLATES).format(
            p=rnd.choice(FAQ_PRODUCTS),
            c=rnd.choice(FAQ_CITIES),
            n=rnd.randint(10000, 99999),
        )
        if rnd.random() < 0.3:
            cut = rnd.randrange(len(text))
            text = text[:cut] + text[cut + 1 :]
        if rnd.random() < 0.3:
            text = rnd.choice(["Здравствуйте! ", "Добрый день, ", "Hi, "]) + text
        texts.append(text)
    return texts


def bench_faq(bench):
    log("\n(g) Frequent questions over 100,000 customer messages")
    cr, env = bench.env()
    conversation = sandbox_history(env, "faq-template", "Сколько стоит доставка?")
    cr.commit()
    started = time.monotonic()
    clone_messages(cr, conversation, 100000 - 1, spacing="20 seconds")
    cr.execute(
        "SELECT mail_message_id FROM omnichannel_message"
        " WHERE conversation_id = %s ORDER BY id",
        [conversation.id],
    )
    mail_ids = [r[0] for r in cr.fetchall()]
    texts = faq_texts(len(mail_ids))
    cr.execute(
        "UPDATE mail_message m SET body = b.body"
        " FROM unnest(%s::int[], %s::text[]) AS b(id, body) "
        "WHERE m.id = b.id",
        [mail_ids, [f"<p>{t}</p>" for t in texts]],
    )
    cr.execute("ANALYZE omnichannel_message")
    cr.commit()
    log("  generated in %.0f s" % (time.monotonic() - started))
    wizard = env["omnichannel.frequent.questions"].create({})
    times = []
    for _ in range(3):
        env.invalidate_all()
        started = time.perf_counter()
        wizard.action_compute()
        times.append(time.perf_counter() - started)
    log(
        f"  {wizard.message_count} messages read, "
        f"{len(wizard.line_ids)} frequent questions; "
        f"top: {wizard.line_ids[:1].question!r} x {wizard.line_ids[:1].count}"
    )
    log(
        f"  read and grouped in {statistics.median(times):.2f} s "
        "(median of 3; target < 10 s)"
    )
    cr.rollback()
    cr.close()


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in f
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GiB" % (int(f.readline().split()[1]) / 1024 / 1024)
    except OSError:
        pass
    try:
        pg = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        pg = ""
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem} RAM, "
        f"Python {platform.python_version()}, {pg}"
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", default="ingest,panel,sla,pivot,crypto,throttle,faq,memory"
    )
    parser.add_argument("--db", default="omnichannel_bench")
    parser.add_argument("--db-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument(
        "--db-port", default=int(os.environ.get("PGPORT", 5432)), type=int
    )
    parser.add_argument(
        "--db-user", default=os.environ.get("PGUSER") or getpass.getuser()
    )
    parser.add_argument(
        "--requests",
        default=400,
        type=int,
        help="requests per round and route (ingest)",
    )
    parser.add_argument(
        "--rounds", default=3, type=int, help="interleaved rounds per route (ingest)"
    )
    parser.add_argument(
        "--drain",
        default=600,
        type=int,
        help="journal rows drained by 1 and by 2 processors (ingest)",
    )
    parser.add_argument(
        "--memory-messages",
        default=10000,
        type=int,
        help="messages posted before the last memory reading (memory)",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the database after the run (to profile on it)",
    )
    args = parser.parse_args()
    log(f"Machine: {machine()}")
    # Secrets are encrypted at rest: a run without a configured key gets one
    # (Odoo's processes inherit it).
    if not os.environ.get("OMNICHANNEL_ENCRYPTION_KEY"):
        from cryptography.fernet import Fernet

        os.environ["OMNICHANNEL_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    bench = Bench(args)
    try:
        bench.create_database()
        for name in args.only.split(","):
            {
                "ingest": bench_ingest,
                "panel": bench_panel,
                "sla": bench_sla,
                "pivot": bench_pivot,
                "crypto": bench_crypto,
                "throttle": bench_throttle,
                "faq": bench_faq,
                "memory": bench_memory,
            }[name.strip()](bench)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
