"""A new SME signs up in a real browser, verifies its email, signs in and uses the shell."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from django.core.cache import cache

from cobro.models import Membership, Organization

PASSWORD = "Tortuga-Azul-2718"


def _read_verification_link(mail_dir: Path) -> str:
    files = sorted(mail_dir.glob("*.eml"))
    assert files, "no verification email was written"
    message = email.message_from_bytes(files[-1].read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body)
    assert match, body
    return match.group(0)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_signup_verify_login_dashboard_and_language(
    live_server, page, screenshot, settings, tmp_path
):
    cache.clear()  # allauth's rate-limit counters
    mail_dir = tmp_path / "mail"
    settings.EMAIL_BACKEND = "cobro.mail.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(mail_dir)

    # Sign up: the page is in Spanish by default.
    page.goto(f"{live_server.url}/accounts/signup/")
    assert page.locator("h1").inner_text() == "Crea tu cuenta"
    page.get_by_label("Correo electrónico").fill("ana@panaderia.test")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_label("Nombre comercial").fill("Panadería Ana")
    # The address is suggested from the business name.
    assert page.locator("#id_slug").input_value() == "panaderia-ana"
    page.get_by_label("Razón social").fill("Panadería Ana SpA")
    page.get_by_label("País").select_option("CL")
    page.get_by_label("Identificación tributaria").fill("76.086.428-5")
    screenshot(page, "01-signup")
    page.get_by_role("button", name="Crear cuenta").click()
    page.wait_for_url("**/accounts/confirm-email/")
    screenshot(page, "02-verification-sent")

    org = Organization.objects.get(slug="panaderia-ana")
    assert Membership.objects.get(organization=org).role == "owner"

    # Open the link from the .eml file and confirm.
    page.goto(_read_verification_link(mail_dir))
    screenshot(page, "03-confirm-email")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")

    # Sign out, then sign in with the verified address.
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url("**/accounts/login/")
    screenshot(page, "04-login")
    page.locator("#id_login").fill("ana@panaderia.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")

    assert page.locator("main h1").inner_text() == "Panadería Ana"
    assert page.get_by_role("heading", name="Te damos la bienvenida a Cobro").is_visible()
    screenshot(page, "05-dashboard-es")

    # Switch language from the user menu.
    page.locator(".user-menu summary").click()
    screenshot(page, "06-user-menu", full_page=False)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Welcome to Cobro").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot(page, "07-dashboard-en")

    # The shell on a phone: navigation hides behind the menu button.
    page.set_viewport_size({"width": 390, "height": 844})
    # The sidebar slides away (a 0.2 s transition) once the phone layout applies.
    page.wait_for_function(
        "() => { const s = document.querySelector('#sidebar');"
        " return !s || s.getBoundingClientRect().right <= 0 || s.offsetParent === null; }"
    )
    assert (
        not page.locator("#sidebar").is_visible()
        or page.locator("#sidebar").bounding_box()["x"] < 0
    )
    page.get_by_role("button", name="Menu").click()
    page.wait_for_timeout(300)
    assert page.locator("#sidebar").bounding_box()["x"] >= 0
    screenshot(page, "08-phone-nav", full_page=False)
