from odoo.tests import Form, tagged

from .routing_common import OwnerCase


@tagged("post_install", "-at_install")
class TestOwnerForms(OwnerCase):
    """An administrator configures routing, response times and automatic
    replies from the forms (server-side form views, onchanges and all)."""

    def test_admin_configures_everything_from_forms(self):
        admin = self.env.ref("base.user_admin")
        env = self.env(user=admin)
        with Form(env["omnichannel.routing.rule"]) as rule:
            rule.name = "Chairs to Bob"
            rule.team_id = self.team
            rule.strategy = "skills"
            rule.max_open_per_user = 5
            rule.keywords = "кресл"
        self.assertEqual(
            env["omnichannel.routing.rule"]
            .search([("name", "=", "Chairs to Bob")])
            .strategy,
            "skills",
        )

        with Form(env["omnichannel.sla.policy"]) as policy:
            policy.name = "Messengers"
            policy.first_response_minutes = 5
            policy.next_response_minutes = 15
            policy.time_basis = "business"
            policy.calendar_id = self.calendar
        self.assertTrue(
            env["omnichannel.sla.policy"].search([("name", "=", "Messengers")])
        )

        with Form(self.channel.with_user(admin)) as channel:
            channel.autoreply_enabled = True
            channel.autoreply_questions = "What do you need?"
        self.assertTrue(self.channel.autoreply_enabled)

        with Form(self.alice.with_user(admin), view="base.view_users_form") as user:
            user.omnichannel_substitute_id = self.bob
            user.omnichannel_available = False
        self.assertEqual(self.alice.omnichannel_substitute_id, self.bob)
        self.assertEqual(
            self.alice.with_user(admin).action_omnichannel_time_off()["res_model"],
            "resource.calendar.leaves",
        )

        settings = Form(env["res.config.settings"])
        settings.omnichannel_followup_questions = False
        settings.save().execute()
        self.assertFalse(
            self.env["omnichannel.conversation"]._followup_setting("questions")
        )

    def test_salesperson_flips_their_own_availability(self):
        self.alice.with_user(self.alice).write({"omnichannel_available": False})
        self.assertFalse(self.alice.omnichannel_available)
