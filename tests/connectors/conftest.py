"""The connector tests need no Odoo: pytest-odoo's session fixtures (registry,
HTTP server, test flag) are autouse for every test, so they are replaced by
no-ops here, and a run of this directory alone creates no database."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def load_registry():
    yield


@pytest.fixture(scope="session", autouse=True)
def load_http():
    yield


@pytest.fixture(scope="module", autouse=True)
def enable_odoo_test_flag():
    yield
