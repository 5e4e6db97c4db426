import pytest
from django.core.exceptions import ValidationError

from customers.error_codes import CustomerErrorCode
from customers.models import Customer
from customers.services.customers import customer_create, customer_update
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def test_create_normalizes_email_rut_phone_and_defaults_country(org, in_org):
    customer = customer_create(
        organization=org,
        name="  Pastelería Doña Rosa ",
        email="  Rosa.Perez@Example.CL ",
        tax_id="123456785",
        phone="+56 9 (1234) 5678",
    )
    customer.refresh_from_db()
    assert customer.name == "Pastelería Doña Rosa"
    assert customer.email == "rosa.perez@example.cl"
    assert customer.country == "CL"
    assert customer.tax_id == "12.345.678-5"
    assert customer.phone == "+56912345678"
    assert customer.locale == "es-419"


def test_duplicate_email_differing_in_case_is_rejected_and_nothing_written(org, in_org):
    customer_create(organization=org, name="Ana", email="ana@example.cl")
    with pytest.raises(ValidationError) as info:
        customer_create(organization=org, name="Ana Bis", email="ANA@Example.cl")
    assert _codes(info.value) == {"email": [CustomerErrorCode.DUPLICATE_EMAIL]}
    assert "ana@example.cl" in info.value.message_dict["email"][0]
    assert Customer.objects.count() == 1


def test_same_email_in_another_organization_is_allowed(org, other_org, in_org):
    CustomerFactory(organization=other_org, email="ana@example.cl")
    customer = customer_create(organization=org, name="Ana", email="ana@example.cl")
    assert customer.pk


def test_invalid_rut_is_rejected_with_field_error(org, in_org):
    with pytest.raises(ValidationError) as info:
        customer_create(organization=org, name="Ana", email="a@example.cl", tax_id="12.345.678-9")
    assert _codes(info.value) == {"tax_id": [CustomerErrorCode.INVALID_TAX_ID]}
    assert "RUT" in info.value.message_dict["tax_id"][0]
    assert not Customer.objects.exists()


def test_argentine_cuit_and_mexican_rfc_are_validated_and_formatted(org, in_org):
    ar = customer_create(
        organization=org, name="Tango SA", email="t@example.ar", country="AR", tax_id="20267565393"
    )
    mx = customer_create(
        organization=org,
        name="Taco SA",
        email="t@example.mx",
        country="mx",
        tax_id="gode 561231 gr8",
    )
    assert ar.tax_id == "20-26756539-3"
    assert (mx.country, mx.tax_id) == ("MX", "GODE561231GR8")
    with pytest.raises(ValidationError) as info:
        customer_create(
            organization=org, name="X", email="x@example.ar", country="AR", tax_id="20267565394"
        )
    assert _codes(info.value) == {"tax_id": [CustomerErrorCode.INVALID_TAX_ID]}


def test_other_countries_keep_tax_id_as_free_text(org, in_org):
    customer = customer_create(
        organization=org,
        name="Lima SAC",
        email="l@example.pe",
        country="Perú",
        tax_id=" 2060  1234567 ",
    )
    assert (customer.country, customer.tax_id) == ("PE", "2060 1234567")


@pytest.mark.parametrize(
    "metadata",
    [["a", "b"], "not json", '"text"', {"": 1}, {f"k{i}": i for i in range(51)}, {"x" * 41: 1}],
)
def test_bad_metadata_is_rejected(org, in_org, metadata):
    with pytest.raises(ValidationError) as info:
        customer_create(organization=org, name="Ana", email="a@example.cl", metadata=metadata)
    assert _codes(info.value) == {"metadata": [CustomerErrorCode.INVALID_METADATA]}


def test_metadata_json_object_is_stored(org, in_org):
    customer = customer_create(
        organization=org, name="Ana", email="a@example.cl", metadata='{"plan": "oro", "n": 2}'
    )
    customer.refresh_from_db()
    assert customer.metadata == {"plan": "oro", "n": 2}


def test_several_bad_fields_are_reported_together(org, in_org):
    with pytest.raises(ValidationError) as info:
        customer_create(
            organization=org,
            name="",
            email="not-an-email",
            phone="abc",
            locale="fr",
            country="Atlantis",
        )
    assert set(info.value.error_dict) == {"name", "email", "phone", "locale", "country"}


def test_update_rejects_taking_another_customers_email(org, in_org):
    CustomerFactory(organization=org, email="taken@example.cl")
    customer = CustomerFactory(organization=org, email="mine@example.cl")
    with pytest.raises(ValidationError) as info:
        customer_update(customer=customer, email="TAKEN@example.cl")
    assert _codes(info.value) == {"email": [CustomerErrorCode.DUPLICATE_EMAIL]}
    customer.refresh_from_db()
    assert customer.email == "mine@example.cl"


def test_update_keeps_own_email_in_other_case_and_changes_fields(org, in_org):
    customer = CustomerFactory(organization=org, email="mine@example.cl")
    customer_update(customer=customer, email="Mine@Example.cl", city="Valparaíso", locale="en")
    customer.refresh_from_db()
    assert (customer.email, customer.city, customer.locale) == (
        "mine@example.cl",
        "Valparaíso",
        "en",
    )


def test_update_country_rechecks_stored_tax_id(org, in_org):
    customer = CustomerFactory(organization=org, tax_id="12.345.678-5")
    with pytest.raises(ValidationError) as info:
        customer_update(customer=customer, country="AR")
    assert "tax_id" in info.value.error_dict


def test_update_with_unknown_field_is_a_programming_error(org, in_org):
    customer = CustomerFactory(organization=org)
    with pytest.raises(TypeError):
        customer_update(customer=customer, organization_id=99)
