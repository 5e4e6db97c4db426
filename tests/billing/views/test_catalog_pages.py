from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import BillingSettings, Coupon, Price, Product, TaxRate
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "billing:product_list",
        "billing:product_create",
        "billing:tax_list",
        "billing:coupon_list",
        "billing:coupon_create",
        "billing:settings",
    ],
)
def test_catalog_pages_render_for_owner(owner_client, catalog, name):
    response = owner_client.get(reverse(name))
    assert response.status_code == 200
    assert "<h1>" in response.content.decode()


def test_catalog_redirects_to_products(owner_client):
    response = owner_client.get(reverse("billing:catalog"))
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:product_list")


def test_product_detail_lists_prices_in_org_locale(owner_client, catalog):
    response = owner_client.get(reverse("billing:product_detail", args=[catalog["product"].pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "$12.990" in html  # es-CL formatting of 12990 CLP
    assert "$29.990" in html
    assert "IVA 19%" in html


def test_create_product_then_price_via_post(owner_client, org):
    response = owner_client.post(
        reverse("billing:product_create"), {"name": "Plan Básico", "description": ""}
    )
    with use_organization(org):
        product = Product.objects.get(name="Plan Básico")
    assert response["Location"] == reverse("billing:price_create", args=[product.pk])

    response = owner_client.post(
        reverse("billing:price_create", args=[product.pk]),
        {
            "nickname": "Mensual",
            "currency": "CLP",
            "amount": "12.990",
            "interval_count": "1",
            "interval": "month",
            "trial_days": "14",
            "setup_fee": "5.000",
            "tax_behavior": "none",
        },
    )
    assert response.status_code == 302
    with use_organization(org):
        price = Price.objects.get(product=product)
    assert (price.amount_minor, price.setup_fee_minor, price.trial_days) == (12_990, 5_000, 14)


def test_usd_price_in_major_units_with_comma(owner_client, org, catalog):
    from billing.services.catalog import billing_settings_update

    billing_settings_update(organization=org, extra_currencies=["USD"])
    owner_client.post(
        reverse("billing:price_create", args=[catalog["product"].pk]),
        {
            "currency": "USD",
            "amount": "12,99",
            "interval_count": "1",
            "interval": "year",
            "trial_days": "0",
            "tax_behavior": "none",
        },
    )
    with use_organization(org):
        assert Price.objects.filter(currency="USD", amount_minor=1299, interval="year").exists()


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("-5", "CLP", "cannot be negative"),
        ("0", "CLP", "greater than zero"),
        ("12,5", "CLP", "no decimals"),
        ("99999999999", "CLP", "too large"),
        ("abc", "CLP", "Enter an amount"),
        ("10", "EUR", "Select a valid choice"),
    ],
)
def test_bad_price_input_shows_error_and_writes_nothing(
    owner_client, org, catalog, amount, currency, message
):
    before = Price.unscoped.count()
    response = owner_client.post(
        reverse("billing:price_create", args=[catalog["product"].pk]),
        {
            "currency": currency,
            "amount": amount,
            "interval_count": "1",
            "interval": "month",
            "trial_days": "0",
            "tax_behavior": "none",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Price.unscoped.count() == before


def test_bad_price_error_is_translated_to_spanish(owner_client, catalog):
    owner_client.cookies["django_language"] = "es-419"
    response = owner_client.post(
        reverse("billing:price_create", args=[catalog["product"].pk]),
        {
            "currency": "CLP",
            "amount": "0",
            "interval_count": "1",
            "interval": "month",
            "trial_days": "0",
            "tax_behavior": "none",
        },
    )
    assert "El monto debe ser mayor que cero" in response.content.decode()


def test_editing_unused_price_changes_it_in_place(owner_client, org, catalog):
    price = catalog["premium"]
    response = owner_client.post(
        reverse("billing:price_update", args=[price.pk]),
        {
            "currency": "CLP",
            "amount": "31.990",
            "interval_count": "1",
            "interval": "month",
            "trial_days": "0",
            "tax_behavior": "none",
        },
    )
    assert response.status_code == 302
    price.refresh_from_db()
    assert (price.amount_minor, price.version, price.active) == (31_990, 1, True)


def test_editing_used_price_creates_a_new_version_and_says_so(owner_client, org, catalog):
    price = catalog["price"]
    with use_organization(org):
        sub = subscription_create(customer=catalog["customer"], price=price)
    page = owner_client.get(reverse("billing:price_update", args=[price.pk])).content.decode()
    assert "This price is in use" in page or "Este precio está en uso" in page

    response = owner_client.post(
        reverse("billing:price_update", args=[price.pk]),
        {
            "nickname": "Mensual",
            "currency": "CLP",
            "amount": "14.990",
            "interval_count": "1",
            "interval": "month",
            "trial_days": "0",
            "tax_behavior": "exclusive",
            "tax_rate": catalog["iva"].pk,
        },
        follow=True,
    )
    price.refresh_from_db()
    with use_organization(org):
        new = Price.objects.get(replaces=price)
    assert (price.amount_minor, price.active) == (12_990, False)
    assert (new.amount_minor, new.version) == (14_990, 2)
    sub.refresh_from_db()
    assert sub.price_id == price.pk  # existing subscriptions keep their version
    html = response.content.decode()
    assert "v2" in html
    assert "versión 2" in html or "version 2" in html


def test_archive_price_asks_then_archives(owner_client, catalog):
    price = catalog["premium"]
    url = reverse("billing:price_archive", args=[price.pk])
    confirm = owner_client.get(url)
    assert confirm.status_code == 200
    price.refresh_from_db()
    assert price.active  # the confirmation page changes nothing
    owner_client.post(url)
    price.refresh_from_db()
    assert not price.active and price.archived_at is not None


def test_tax_rate_create_and_deactivate(owner_client, org):
    owner_client.post(
        reverse("billing:tax_list"), {"name": "IVA AR", "percentage": "21", "country": "AR"}
    )
    with use_organization(org):
        rate = TaxRate.objects.get(name="IVA AR")
    assert str(rate.percentage.normalize()) == "21"
    owner_client.post(reverse("billing:tax_deactivate", args=[rate.pk]))
    rate.refresh_from_db()
    assert not rate.active


def test_tax_rate_over_100_is_refused(owner_client, org):
    response = owner_client.post(reverse("billing:tax_list"), {"name": "X", "percentage": "120"})
    assert response.status_code == 400
    assert not TaxRate.unscoped.filter(name="X").exists()


def test_coupon_create_fixed_amount_and_deactivate(owner_client, org):
    response = owner_client.post(
        reverse("billing:coupon_create"),
        {
            "code": "verano",
            "name": "Verano",
            "kind": "amount",
            "amount_off": "2.000",
            "currency": "CLP",
            "duration": "repeating",
            "duration_periods": "3",
            "max_redemptions": "50",
        },
    )
    assert response.status_code == 302
    with use_organization(org):
        coupon = Coupon.objects.get(code="VERANO")
    assert (coupon.amount_off_minor, coupon.duration_periods) == (2_000, 3)
    assert "$2.000" in owner_client.get(reverse("billing:coupon_list")).content.decode()
    owner_client.post(reverse("billing:coupon_deactivate", args=[coupon.pk]))
    coupon.refresh_from_db()
    assert not coupon.active


def test_duplicate_coupon_code_is_a_form_error(owner_client, catalog):
    response = owner_client.post(
        reverse("billing:coupon_create"),
        {
            "code": "BIENVENIDA",
            "name": "Otra",
            "kind": "percent",
            "percent_off": "5",
            "duration": "once",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert Coupon.unscoped.filter(code="BIENVENIDA").count() == 1


def test_billing_settings_explain_and_save(owner_client, org):
    page = owner_client.get(reverse("billing:settings"), HTTP_ACCEPT_LANGUAGE="en")
    assert (
        "Numbers are sequential" in page.content.decode() or "sin saltos" in page.content.decode()
    )
    response = owner_client.post(
        reverse("billing:settings"),
        {
            "extra_currencies": "usd, eur",
            "invoice_prefix": "FAC-",
            "credit_note_prefix": "NC-",
            "days_until_due": "15",
        },
    )
    assert response.status_code == 302
    s = BillingSettings.unscoped.get(organization=org)
    assert (s.extra_currencies, s.invoice_prefix, s.days_until_due) == (["EUR", "USD"], "FAC-", 15)


def test_billing_settings_unknown_currency_is_refused(owner_client, org):
    response = owner_client.post(
        reverse("billing:settings"),
        {
            "extra_currencies": "USD, XYZ",
            "invoice_prefix": "F-",
            "credit_note_prefix": "NC-",
            "days_until_due": "30",
        },
    )
    assert response.status_code == 400
    assert "XYZ" in response.content.decode()
    assert not BillingSettings.unscoped.filter(organization=org, extra_currencies=["USD"]).exists()
