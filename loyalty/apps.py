from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from billing.renewal_discounts import renewal_discount_provider_register
        from cobro.navigation import nav_register
        from customers.portal.slots import portal_nav_register, portal_panel_register
        from loyalty import demo, handlers  # noqa: F401 - registers handlers and the seeder
        from loyalty.services.benefits import LoyaltyRenewalDiscounts

        renewal_discount_provider_register(LoyaltyRenewalDiscounts())
        from customers.create_extensions import customer_create_extension_register
        from loyalty.services.referrals import referral_form_extension

        customer_create_extension_register(referral_form_extension())

        nav_register(
            key="loyalty",
            label=_("Loyalty"),
            url_name="loyalty:home",
            permission="view",
            order=60,
            icon="star",
        )
        portal_nav_register(key="loyalty", label=_("Points"), url_name="portal:loyalty", order=40)
        portal_panel_register(
            key="loyalty", template="loyalty/portal/_panel.html", slot="overview", order=50
        )
