"""The portal speaks Spanish by default and English on request, and is branded."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_spanish_by_default_and_english_on_request(client, org, settings):
    settings.LANGUAGE_CODE = "es-419"
    login = reverse("portal:login", kwargs={"org_slug": org.slug})
    page = client.get(login).content.decode()
    assert "Enviarme un código" in page and 'lang="es-419"' in page
    client.post(reverse("set_language"), {"language": "en", "next": login})
    page = client.get(login).content.decode()
    assert "Email me a code" in page and 'lang="en"' in page


def test_brand_colour_is_a_css_variable_under_the_csp_nonce(client, org):
    org.brand_color = "#c2185b"
    org.save()
    response = client.get(reverse("portal:login", kwargs={"org_slug": org.slug}))
    body = response.content.decode()
    assert "--brand:#c2185b" in body
    nonce = response.wsgi_request.csp_nonce
    assert f'<style nonce="{nonce}">' in body
    assert "style=" not in body.replace(f'<style nonce="{nonce}">', "")
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
