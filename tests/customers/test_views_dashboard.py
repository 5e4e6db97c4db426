import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, CustomerImport
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client, org):
    user = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=user, role="viewer")
    client.force_login(user)
    return client


def _text(response) -> str:
    return response.content.decode()


def test_list_shows_only_own_customers_and_searches(owner_client, org, other_org):
    CustomerFactory(organization=org, name="Camila Rojas", email="camila@example.cl")
    CustomerFactory(organization=org, name="Matías Soto", email="matias@example.cl")
    CustomerFactory(organization=other_org, name="Secreto Globex", email="x@globex.cl")

    page = _text(owner_client.get(reverse("customers:list")))
    assert "Camila Rojas" in page and "Matías Soto" in page
    assert "Secreto Globex" not in page

    page = _text(owner_client.get(reverse("customers:list"), {"q": "MATIAS@"}))
    assert "Matías Soto" in page and "Camila Rojas" not in page


def test_list_filters_by_country_and_orders(owner_client, org):
    CustomerFactory(organization=org, name="Ana Chile", country="CL")
    CustomerFactory(organization=org, name="Zoe Argentina", country="AR", tax_id="")
    page = _text(owner_client.get(reverse("customers:list"), {"country": "AR"}))
    assert "Zoe Argentina" in page and "Ana Chile" not in page

    page = _text(owner_client.get(reverse("customers:list"), {"ordering": "-name"}))
    assert page.index("Zoe Argentina") < page.index("Ana Chile")


def test_list_paginates(owner_client, org):
    for i in range(30):
        CustomerFactory(organization=org, name=f"Cliente {i:02d}")
    page1 = _text(owner_client.get(reverse("customers:list")))
    page2 = _text(owner_client.get(reverse("customers:list"), {"page": 2}))
    assert "Cliente 00" in page1 and "Cliente 29" not in page1
    assert "Cliente 29" in page2


def test_empty_list_invites_to_create_or_import(owner_client, org):
    page = _text(owner_client.get(reverse("customers:list")))
    assert reverse("customers:create") in page and reverse("customers:import") in page


def test_create_via_post_normalizes_and_redirects_to_detail(owner_client, org):
    response = owner_client.post(
        reverse("customers:create"),
        {
            "name": "Camila Rojas",
            "email": "Camila@Example.CL",
            "country": "CL",
            "tax_id": "123456785",
            "locale": "es-419",
            "metadata": '{"segmento": "retail"}',
        },
    )
    customer = Customer.unscoped.get(organization=org)
    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    assert (customer.email, customer.tax_id) == ("camila@example.cl", "12.345.678-5")
    detail = _text(owner_client.get(response.url))
    assert "12.345.678-5" in detail and "retail" in detail


def test_create_shows_field_errors_and_writes_nothing(owner_client, org):
    CustomerFactory(organization=org, email="ana@example.cl")
    response = owner_client.post(
        reverse("customers:create"),
        {
            "name": "Ana",
            "email": "ANA@example.cl",
            "country": "CL",
            "tax_id": "1-1",
            "locale": "es-419",
            "metadata": "[1, 2]",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"email", "tax_id", "metadata"}
    assert Customer.unscoped.filter(organization=org).count() == 1


def test_create_form_is_in_spanish_by_default(owner_client, org):
    page = _text(owner_client.get(reverse("customers:create")))
    assert "Nuevo cliente" in page


def test_viewer_cannot_create_or_edit(viewer_client, org):
    customer = CustomerFactory(organization=org, name="Ana")
    assert viewer_client.get(reverse("customers:create")).status_code == 403
    response = viewer_client.post(
        reverse("customers:create"),
        {"name": "Intruso", "email": "i@example.cl", "country": "CL", "locale": "es-419"},
    )
    assert response.status_code == 403
    response = viewer_client.post(
        reverse("customers:update", args=[customer.pk]),
        {"name": "Cambiado", "email": customer.email, "country": "CL", "locale": "es-419"},
    )
    assert response.status_code == 403
    assert list(Customer.unscoped.values_list("name", flat=True)) == ["Ana"]
    # Reading is allowed.
    assert viewer_client.get(reverse("customers:detail", args=[customer.pk])).status_code == 200
    assert "Editar" not in _text(viewer_client.get(reverse("customers:detail", args=[customer.pk])))


def test_viewer_cannot_import(viewer_client, org):
    upload = SimpleUploadedFile("c.csv", b"name,email\nAna,ana@example.cl\n")
    assert viewer_client.post(reverse("customers:import"), {"file": upload}).status_code == 403
    assert not CustomerImport.unscoped.exists()


def test_customer_of_another_organization_is_404(owner_client, other_org):
    foreign = CustomerFactory(organization=other_org, name="Globex Cliente")
    assert owner_client.get(reverse("customers:detail", args=[foreign.pk])).status_code == 404
    assert owner_client.get(reverse("customers:update", args=[foreign.pk])).status_code == 404
    response = owner_client.post(
        reverse("customers:update", args=[foreign.pk]),
        {"name": "Hacked", "email": "h@example.cl", "country": "CL", "locale": "es-419"},
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Globex Cliente"


def test_edit_changes_the_customer(owner_client, org):
    customer = CustomerFactory(organization=org, name="Ana", email="ana@example.cl")
    response = owner_client.post(
        reverse("customers:update", args=[customer.pk]),
        {
            "name": "Ana María",
            "email": "ana@example.cl",
            "country": "CL",
            "locale": "en",
            "city": "Valdivia",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.city, customer.locale) == ("Ana María", "Valdivia", "en")


def test_import_upload_preview_confirm_and_summary(
    owner_client, org, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile(
        "clientes.csv",
        b"nombre,correo,rut\nCamila,camila@example.cl,12.345.678-5\n",
        content_type="text/csv",
    )
    response = owner_client.post(reverse("customers:import"), {"file": upload})
    job = CustomerImport.unscoped.get(organization=org)
    assert response.url == reverse("customers:import_detail", args=[job.pk])
    preview = _text(owner_client.get(response.url))
    assert "camila@example.cl" in preview and "Importar 1 cliente" in preview

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("customers:import_confirm", args=[job.pk]))
    assert response.status_code == 302
    progress = _text(owner_client.get(reverse("customers:import_progress", args=[job.pk])))
    assert "1 cliente creado" in progress
    assert "hx-trigger" not in progress  # finished: polling stops
    assert Customer.unscoped.filter(organization=org, email="camila@example.cl").exists()


def test_import_with_bad_row_shows_errors_on_preview(owner_client, org):
    upload = SimpleUploadedFile(
        "clientes.csv", b"name,email\nAna,ana@example.cl\nBruno,not-an-email\n"
    )
    response = owner_client.post(reverse("customers:import"), {"file": upload}, follow=True)
    page = _text(response)
    assert "not-an-email" in page
    assert "Nada se importará" in page or "nada se importará" in page.lower()
    assert not Customer.unscoped.filter(organization=org).exists()


def test_import_of_broken_file_shows_clear_error(owner_client, org):
    upload = SimpleUploadedFile("clientes.csv", b"\x00\x01\x02\x03PK binary")
    response = owner_client.post(reverse("customers:import"), {"file": upload})
    assert response.status_code == 400
    assert "UTF-8" in _text(response)
    assert not CustomerImport.unscoped.exists()


def test_import_of_another_organization_is_404(owner_client, other_org):
    job = CustomerImport.unscoped.create(organization=other_org, filename="x.csv")
    for name in ("customers:import_detail", "customers:import_progress"):
        assert owner_client.get(reverse(name, args=[job.pk])).status_code == 404
    assert owner_client.post(reverse("customers:import_confirm", args=[job.pk])).status_code == 404


def test_progress_fragment_polls_while_running_and_shows_counts(owner_client, org):
    job = CustomerImport.unscoped.create(
        organization=org,
        filename="grande.csv",
        status=CustomerImport.Status.RUNNING,
        total_rows=1000,
        processed_rows=250,
    )
    page = _text(owner_client.get(reverse("customers:import_detail", args=[job.pk])))
    assert 'hx-trigger="every 1s"' in page and "htmx" in page
    fragment = _text(owner_client.get(reverse("customers:import_progress", args=[job.pk])))
    assert "250 de 1000 filas" in fragment and 'value="250"' in fragment
