"""pytest settings of omnichannel_inbox on top of pytest-odoo.

Loaded by ``addopts = -p omnichannel_pytest`` (pyproject.toml), so that a plain
``pytest`` at the repository root runs the whole suite the way tests/run.sh
does with Odoo's own runner:

* the checkout is put in a temporary addons path under its technical name,
  whatever the clone's directory is called, and pytest imports the test
  modules as ``odoo.addons.omnichannel_inbox.tests.*`` (the repository root
  IS the addon, so pytest's own package naming would use the directory name);
* a fresh PostgreSQL database (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432)
  gets the addon installed before the first Odoo test, and is dropped at the
  end (KEEP_DB=1 keeps it, OMNICHANNEL_TEST_DB names it, as in tests/run.sh);
* OMNICHANNEL_ENCRYPTION_KEY is generated when unset (kept beside a kept
  database);
* an ERROR logged during a test fails it, and a skipped test fails the run:
  tests/run.sh treats both as failures (a skip hides a missing tool).

The database-free connector tests (tests/connectors) need none of this: a run
that collects only them creates no database (see tests/connectors/conftest.py).

This file is not a conftest.py at the root on purpose: the root is an Odoo
package (its __init__.py imports the addon), and pytest would import a root
conftest as ``<directory name>.conftest``, that is the whole addon under a
wrong name.
"""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _pytest.pathlib
import pytest

MODULE = "omnichannel_inbox"
ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DB_FREE = TESTS / "connectors"

_state = {}


def pytest_addoption(parser):
    group = parser.getgroup("omnichannel_inbox")
    group.addoption(
        "--keep-db",
        action="store_true",
        default=bool(os.environ.get("KEEP_DB")),
        help="keep the test database (and its encryption key) after the run; "
        "a kept database that has the addon is upgraded, not reinstalled "
        "(also KEEP_DB=1; name it with OMNICHANNEL_TEST_DB)",
    )


def _pg_environment():
    os.environ.setdefault("PGHOST", "127.0.0.1")
    os.environ.setdefault("PGPORT", "5432")
    if not os.environ.get("PGUSER"):
        import getpass  # noqa: PLC0415

        os.environ["PGUSER"] = getpass.getuser()
    return [
        "--db_host",
        os.environ["PGHOST"],
        "--db_port",
        os.environ["PGPORT"],
        "--db_user",
        os.environ["PGUSER"],
    ]


def _encryption_key(db_name, keep):
    """Secrets and files are encrypted at rest under a key outside the
    database: a run without one gets a fresh key, kept beside a kept database
    so that the next run still opens it."""
    if os.environ.get("OMNICHANNEL_ENCRYPTION_KEY"):
        return
    key_file = Path(tempfile.gettempdir()) / f"omnichannel_test_key_{db_name}"
    if keep and key_file.is_file() and key_file.stat().st_size:
        key = key_file.read_text().strip()
    else:
        from cryptography.fernet import Fernet  # noqa: PLC0415

        key = Fernet.generate_key().decode()
        if keep:
            old_umask = os.umask(0o077)
            try:
                key_file.write_text(key + "\n")
            finally:
                os.umask(old_umask)
    os.environ["OMNICHANNEL_ENCRYPTION_KEY"] = key


def _patch_module_names():
    """Import the test modules as odoo.addons.omnichannel_inbox.*.

    pytest names a module after the topmost directory with an __init__.py
    whose name is an identifier: the clone's own directory
    (``ci123.tests.test_x``), or ``tests.test_x`` when the clone's name is not
    an identifier (``omnichannel-inbox``); pytest-odoo then prefixes
    ``odoo.addons.`` only when the clone is called omnichannel_inbox.  The
    module must be the one Odoo loads from the addons path, or every test
    module would be imported a second time under another name.
    """
    original = _pytest.pathlib.resolve_pkg_root_and_module_name

    def resolve_pkg_root_and_module_name(path, *, consider_namespace_packages=False):
        pkg_root, module_name = original(
            path, consider_namespace_packages=consider_namespace_packages
        )
        try:
            relative = Path(path).resolve().relative_to(ROOT)
        except ValueError:
            return pkg_root, module_name
        # Only the addon's own packages: an __init__.py from the root down.
        directory = ROOT
        for part in ("", *relative.parts[:-1]):
            directory = directory / part
            if not (directory / "__init__.py").is_file():
                return pkg_root, module_name
        parts = relative.with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        # The root is on sys.path already (pythonpath in pyproject.toml).
        return ROOT, ".".join(("odoo", "addons", MODULE, *parts))

    _pytest.pathlib.resolve_pkg_root_and_module_name = resolve_pkg_root_and_module_name


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_cmdline_main(config):
    """Give pytest-odoo its database, addons path and server options before
    it parses Odoo's configuration (its own pytest_cmdline_main)."""
    if config.getoption("--odoo-database") or config.getoption("--odoo-config"):
        # Explicit settings: the caller brings their own database.
        yield
        return
    keep = config.getoption("--keep-db")
    db_name = os.environ.get("OMNICHANNEL_TEST_DB") or f"omnichannel_test_{os.getpid()}"
    db_args = _pg_environment()
    _encryption_key(db_name, keep)
    addons_dir = tempfile.mkdtemp(prefix="omnichannel_addons_")
    # The addon must sit in an addons path under its technical name.
    os.symlink(ROOT, os.path.join(addons_dir, MODULE))
    config.option.odoo_database = db_name
    config.option.odoo_addons_path = addons_dir
    config.option.odoo_log_level = "warn"
    config.option.odoo_extra = [
        *config.option.odoo_extra,
        f"db_host={os.environ['PGHOST']}",
        f"db_port={os.environ['PGPORT']}",
        f"db_user={os.environ['PGUSER']}",
        # Odoo's HTTP server for the HttpCase tests and tours: local only,
        # and no cron thread racing the tests.
        "http-interface=127.0.0.1",
        "max-cron-threads=0",
    ]
    _state.update(db=db_name, db_args=db_args, addons=addons_dir, keep=keep)
    _patch_module_names()
    try:
        yield
    finally:
        _cleanup()


def _say(line):
    # After the session: pytest's terminal reporter has already closed.
    sys.stdout.write(line + "\n")


def _cleanup():
    if _state.get("created") and not _state["keep"]:
        import odoo.service.db  # noqa: PLC0415

        try:
            if not odoo.service.db.exp_drop(_state["db"]):
                _say(f"warning: could not drop test database {_state['db']}")
        except Exception as exc:  # pylint: disable=broad-except
            _say(f"warning: could not drop test database {_state['db']}: {exc}")
    elif _state.get("created"):
        _say(f"Kept test database {_state['db']} (KEEP_DB)")
    shutil.rmtree(_state["addons"], ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path, parent):
    """The root and tests/ are Odoo packages that Odoo itself loads: collect
    them as plain directories, so that pytest does not import their
    __init__.py (the whole addon) for a run of the database-free tests."""
    if Path(path).resolve() in (ROOT, TESTS):
        return pytest.Dir.from_parent(parent, path=Path(path))
    return None


def _needs_database(item):
    return not Path(str(item.path)).resolve().is_relative_to(DB_FREE)


def pytest_collection_finish(session):
    if not _state or session.config.option.collectonly:
        return
    if not any(_needs_database(item) for item in session.items):
        return
    _install(session.config)


def _installed(db_name):
    import psycopg2  # noqa: PLC0415

    try:
        with psycopg2.connect(dbname=db_name) as conn, conn.cursor() as cr:
            cr.execute(
                "SELECT 1 FROM ir_module_module"
                " WHERE name = %s AND state = 'installed'",
                [MODULE],
            )
            return bool(cr.fetchone())
    except psycopg2.Error:
        return False


def _install(config):
    db_name = _state["db"]
    mode = "--init"
    if _state["keep"] and _installed(db_name):
        mode = "--update"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    verb = "Upgrading" if mode == "--update" else "Installing"
    reporter.write_line(f"{verb} {MODULE} in test database {db_name}")
    _state["created"] = True
    command = [
        sys.executable,
        "-m",
        "odoo",
        "server",
        "--database",
        db_name,
        *_state["db_args"],
        "--addons-path",
        _state["addons"],
        mode,
        MODULE,
        "--stop-after-init",
        "--log-level",
        "warn",
        "--max-cron-threads",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    log = result.stdout + result.stderr
    errors = [
        line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line
    ]
    if result.returncode or errors:
        reporter.write_line(log[-20000:])
        pytest.exit(
            f"installing {MODULE} in {db_name} failed (exit code {result.returncode})",
            returncode=pytest.ExitCode.INTERNAL_ERROR,
        )


class _ErrorCollector(logging.Handler):
    """ERROR records that reach the root logger during a test (assertLogs and
    mute_logger keep the expected ones away from it)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(self.format(record))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    collector = item.stash.get(_collector_key, None)
    outcome = yield
    if collector is None or not collector.records:
        return
    report = outcome.get_result()
    if report.passed:
        report.outcome = "failed"
        report.longrepr = "errors were logged during the test:\n" + "\n".join(
            collector.records
        )
    collector.records.clear()


_collector_key = pytest.StashKey()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _state or not _needs_database(item):
        yield
        return
    collector = _ErrorCollector()
    collector.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    item.stash[_collector_key] = collector
    logging.getLogger().addHandler(collector)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(collector)


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == pytest.ExitCode.OK and _state.get("created"):
        # A skipped test hides a missing tool (Chromium, websocket-client).
        reporter.write_line(
            f"ERROR: {skipped} test(s) were skipped: not a pass", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
