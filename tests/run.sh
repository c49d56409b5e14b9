#!/usr/bin/env bash
# Run the whole test suite of omnichannel_inbox inside real Odoo 19 on a fresh
# PostgreSQL database: model tests, webhook tests against fake provider
# servers on 127.0.0.1, and the browser tours in headless Chromium.
#
#   bash tests/run.sh                      # everything
#   bash tests/run.sh /omnichannel_inbox:TestTelegramWebhook   # one class (Odoo --test-tags syntax)
#
# Needs: Odoo 19 importable by $PYTHON (default python3), PostgreSQL reachable
# over TCP (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 as the current user),
# Chromium on PATH, and the packages of requirements.txt and
# test-requirements.txt.  README's main test command is `pytest` (the same
# suite through pytest-odoo); this is the alternative with Odoo's own runner.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TAGS="${1:-/omnichannel_inbox}"

fail() { echo "ERROR: $*" >&2; exit 2; }

if ! "$PYTHON" - <<'PY' >/dev/null 2>&1
import odoo.release, odoo.cli
assert odoo.release.version_info[0] == 19
PY
then
    fail "Odoo 19 is not importable by '$PYTHON'. Install Odoo 19 Community (and its requirements.txt) so that '$PYTHON -c \"import odoo\"' works, or set PYTHON to an interpreter that has it. Tests are never skipped for want of Odoo."
fi
if ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null && ! command -v chromium-browser >/dev/null; then
    fail "Chromium is not installed: the browser tours need it (Debian: apt-get install chromium)."
fi
"$PYTHON" -c "import telegram, phonenumbers, requests, websocket" 2>/dev/null \
    || fail "Python packages missing: $PYTHON -m pip install -r $HERE/requirements.txt -r $HERE/test-requirements.txt"

# Talk to PostgreSQL over TCP with explicit settings rather than libpq's
# socket defaults, and wait for a server that is still starting: a run that
# cannot reach the database must say so, not die inside Odoo's traceback.
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-$(id -un)}"
DB_ARGS=(--db_host "$PGHOST" --db_port "$PGPORT" --db_user "$PGUSER")
for i in $(seq 1 60); do
    "$PYTHON" -c "import psycopg2; psycopg2.connect(dbname='postgres').close()" 2>/dev/null && break
    [ "$i" -eq 60 ] && fail "PostgreSQL is not reachable at $PGHOST:$PGPORT as '$PGUSER' (waited 60 s). Start it, or set PGHOST/PGPORT/PGUSER."
    sleep 1
done

ADDONS="$(mktemp -d)"
LOG="$(mktemp)"
DB="${OMNICHANNEL_TEST_DB:-omnichannel_test_$$}"

# Secrets and files are encrypted at rest under a key outside the database
# (README, "Encryption at rest"): a run without one gets a fresh key, kept
# beside a kept database (KEEP_DB) so that the next run still opens it.
if [ -z "${OMNICHANNEL_ENCRYPTION_KEY:-}" ]; then
    KEY_FILE="${TMPDIR:-/tmp}/omnichannel_test_key_$DB"
    if [ -n "${KEEP_DB:-}" ] && [ -s "$KEY_FILE" ]; then
        OMNICHANNEL_ENCRYPTION_KEY="$(cat "$KEY_FILE")"
    else
        OMNICHANNEL_ENCRYPTION_KEY="$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
            || fail "Python package cryptography missing: $PYTHON -m pip install -r $HERE/requirements.txt"
        [ -z "${KEEP_DB:-}" ] || (umask 077 && echo "$OMNICHANNEL_ENCRYPTION_KEY" >"$KEY_FILE")
    fi
    export OMNICHANNEL_ENCRYPTION_KEY
fi
# The addon must sit in an addons path under its technical name, whatever
# this checkout is called.
ln -s "$HERE" "$ADDONS/omnichannel_inbox"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

cleanup() {
    # Drop the test database and its filestore (a failure to do so is said,
    # not hidden: left-over databases fill the disk run after run).
    "$PYTHON" - "$DB" <<'PY' 2>&1 | grep -v '^$' | tail -n 3
import os, sys
from odoo.tools import config
import odoo.service.db as db
config._parse_config(["--db_host", os.environ["PGHOST"], "--db_port", os.environ["PGPORT"], "--db_user", os.environ["PGUSER"]])
if not db.exp_drop(sys.argv[1]):
    print("warning: could not drop test database %s" % sys.argv[1])
PY
    rm -rf "$ADDONS"
}
[ -n "${KEEP_DB:-}" ] || trap cleanup EXIT

# A kept database (KEEP_DB=1 with OMNICHANNEL_TEST_DB) that has the addon
# already is upgraded rather than installed again: quick reruns of a class.
INSTALL=(--init omnichannel_inbox)
if [ -n "${KEEP_DB:-}" ] && "$PYTHON" - "$DB" <<'PY' 2>/dev/null
import sys, psycopg2
with psycopg2.connect(dbname=sys.argv[1]) as conn, conn.cursor() as cr:
    cr.execute("SELECT 1 FROM ir_module_module WHERE name = 'omnichannel_inbox' AND state = 'installed'")
    sys.exit(0 if cr.fetchone() else 1)
PY
then
    INSTALL=(--update omnichannel_inbox)
fi

echo "Running omnichannel_inbox tests on database $DB (tags: $TAGS)"
"$PYTHON" -m odoo server \
    --database "$DB" "${DB_ARGS[@]}" \
    --addons-path "$ADDONS" \
    "${INSTALL[@]}" \
    --test-enable --test-tags "$TAGS" \
    --http-interface 127.0.0.1 --http-port "$PORT" \
    --stop-after-init --log-level test \
    --max-cron-threads 0 2>&1 | tee "$LOG"
RC=${PIPESTATUS[0]}

# Odoo ends with "N failed, N error(s) of N tests"; say it the plain way too.
SUMMARY="$(grep -E 'odoo.tests.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOG" | tail -1)"
if [ -z "$SUMMARY" ]; then
    echo "ERROR: Odoo ran no test (installation failed, or no test matched '$TAGS')." >&2
    exit 1
fi
FAILED="$(echo "$SUMMARY" | sed -E 's/.*: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/')"
read -r F E T <<<"$FAILED"
BAD=$((F + E))
if [ "$T" -eq 0 ]; then
    echo "ERROR: no test ran." >&2
    exit 1
fi
# A skipped test hides a missing tool (Chromium, websocket-client): not a pass.
SKIPPED="$(grep -cE 'odoo\.addons\.omnichannel_inbox\.tests\.[a-z_]+: skipped ' "$LOG")"
if [ "$SKIPPED" -ne 0 ]; then
    echo "ERROR: $SKIPPED test(s) were skipped:" >&2
    grep -E 'odoo\.addons\.omnichannel_inbox\.tests\.[a-z_]+: skipped ' "$LOG" >&2
fi
echo "$((T - BAD - SKIPPED)) passed, $BAD failed, $SKIPPED skipped"
if [ "$RC" -ne 0 ] || [ "$BAD" -ne 0 ] || [ "$SKIPPED" -ne 0 ] || grep -qE ' (ERROR|CRITICAL) ' "$LOG"; then
    echo "FAILED: see the errors above." >&2
    exit 1
fi
exit 0
