from odoo.tests import HttpCase, tagged

from odoo.addons.web.tests.test_js import unit_test_error_checker


def hoot_id(name):
    """Hoot's id of a test or suite (web's HOOTCommon._generate_hash)."""
    value = 0
    for char in name:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    return f"{value:08x}"


@tagged("post_install", "-at_install")
class TestChatPanelUnit(HttpCase):
    """The Hoot unit tests of static/tests/unit, beside the tours."""

    def test_hoot_unit_tests(self):
        self.browser_js(
            "/web/tests?headless&loglevel=2&preset=desktop&timeout=15000"
            f"&id={hoot_id('@omnichannel_inbox')}",
            "",
            "",
            login="admin",
            timeout=1200,
            success_signal="[HOOT] Test suite succeeded",
            error_checker=unit_test_error_checker,
        )
