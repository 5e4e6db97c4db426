import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.error_codes import CustomerImportErrorCode
from customers.models import Customer, CustomerImport
from customers.services import imports
from customers.services.imports import (
    customer_import_confirm,
    customer_import_create,
    customer_import_run,
)
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SPANISH_CSV = (
    "nombre;correo;telefono;rut;pais;direccion;ciudad;region;codigo_postal;idioma;notas\n"
    "Camila Rojas;Camila@Example.cl;+56 9 8123 4567;12.345.678-5;Chile;Av. Providencia 1;"
    "Providencia;RM;7500000;es;VIP\n"
    "Matías González;matias@example.cl;;11.111.111-1;CL;Los Leones 2;Santiago;RM;;en;\n"
)


def _upload(organization, content: bytes, **kwargs):
    return customer_import_create(
        organization=organization, upload=content, filename="clientes.csv", **kwargs
    )


def _confirm_and_run(job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        customer_import_confirm(job=job)
    job.refresh_from_db()
    return job


def test_spanish_headers_import_everything_through_the_task(
    org, in_org, django_capture_on_commit_callbacks
):
    job = _upload(org, SPANISH_CSV.encode())
    assert job.status == CustomerImport.Status.VALIDATED
    assert job.total_rows == 2
    assert job.preview_rows[0]["values"]["name"] == "Camila Rojas"
    assert not Customer.objects.exists()  # nothing written before confirmation

    job = _confirm_and_run(job, django_capture_on_commit_callbacks)

    assert job.status == CustomerImport.Status.SUCCEEDED
    assert (job.created_count, job.processed_rows, job.total_rows) == (2, 2, 2)
    camila = Customer.objects.get(email="camila@example.cl")
    assert camila.tax_id == "12.345.678-5"
    assert camila.phone == "+56981234567"
    assert camila.country == "CL"
    assert camila.notes == "VIP"
    assert Customer.objects.get(email="matias@example.cl").locale == "en"


def test_one_bad_row_imports_nothing_and_reports_row_and_column(org, in_org):
    content = (
        b"name,email,tax_id\n"
        b"Ana,ana@example.cl,12.345.678-5\n"
        b"Bruno,bruno@example.cl,12.345.678-9\n"
        b"Carla,carla@example.cl,\n"
    )
    job = _upload(org, content)
    assert job.status == CustomerImport.Status.INVALID
    assert job.error_count == 1
    error = job.errors[0]
    assert (error["row"], error["column"], error["code"]) == (3, "tax_id", "invalid_tax_id")
    assert "12.345.678-9" in error["message"]
    with pytest.raises(ValidationError):
        customer_import_confirm(job=job)
    assert not Customer.objects.exists()


def test_duplicates_inside_the_file_and_against_existing_customers_are_errors(org, in_org):
    CustomerFactory(organization=org, email="old@example.cl")
    content = b"name,email\nAna,ana@example.cl\nAna Bis,ANA@example.cl\nViejo,Old@Example.cl\n"
    job = _upload(org, content)
    assert [(e["row"], e["code"]) for e in job.errors] == [
        (3, "duplicate_in_file"),
        (4, "duplicate_email"),
    ]
    assert "fila 2" in job.errors[0]["message"]  # messages follow the uploader's language
    assert Customer.objects.count() == 1


def test_update_existing_option_updates_matching_customer_keeping_blank_cells(
    org, in_org, django_capture_on_commit_callbacks
):
    old = CustomerFactory(organization=org, email="old@example.cl", city="Santiago", name="Old")
    content = b"name,email,city\nNuevo Nombre,OLD@example.cl,\nAna,ana@example.cl,Talca\n"
    job = _upload(org, content, update_existing=True)
    job = _confirm_and_run(job, django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count) == (1, 1)
    old.refresh_from_db()
    assert (old.name, old.city) == ("Nuevo Nombre", "Santiago")


def test_latin1_file_is_decoded(org, in_org, django_capture_on_commit_callbacks):
    content = "nombre,correo,ciudad\nJosé Muñoz,jose@example.cl,Ñuñoa\n".encode("latin-1")
    job = _upload(org, content)
    assert job.encoding == "windows-1252"
    job = _confirm_and_run(job, django_capture_on_commit_callbacks)
    customer = Customer.objects.get()
    assert (customer.name, customer.city) == ("José Muñoz", "Ñuñoa")


def test_utf8_with_bom_is_decoded(org, in_org):
    content = "\ufeffname,email\nÁlvaro,alvaro@example.cl\n".encode()
    job = _upload(org, content)
    assert job.status == CustomerImport.Status.VALIDATED
    assert job.preview_rows[0]["values"]["name"] == "Álvaro"


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binary-xlsx\x00\x01\x02",
        b"name,email\n\x81\x8d\x8f\x90\x9d,broken@example.cl\n",
    ],
    ids=["binary", "undecodable"],
)
def test_binary_or_undecodable_file_is_rejected_clearly(org, in_org, content):
    with pytest.raises(ValidationError) as info:
        _upload(org, content)
    (error,) = info.value.error_dict["file"]
    assert error.code == CustomerImportErrorCode.FILE_ENCODING
    assert "UTF-8" in error.messages[0]
    assert not CustomerImport.objects.exists()
    assert not Customer.objects.exists()


def test_oversized_file_is_rejected_without_reading_it(org, in_org, monkeypatch):
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 1024)
    upload = SimpleUploadedFile("big.csv", b"name,email\n" + b"a,a@example.cl\n" * 200)
    with pytest.raises(ValidationError) as info:
        customer_import_create(organization=org, upload=upload, filename="big.csv")
    assert info.value.error_dict["file"][0].code == CustomerImportErrorCode.FILE_TOO_LARGE
    assert not CustomerImport.objects.exists()


def test_missing_required_columns_are_reported(org, in_org):
    with pytest.raises(ValidationError) as info:
        _upload(org, b"nombre,telefono\nAna,123456\n")
    error = info.value.error_dict["file"][0]
    assert error.code == CustomerImportErrorCode.MISSING_COLUMNS
    assert "email" in error.messages[0]


def test_progress_reaches_total_for_a_large_file(
    org, in_org, django_capture_on_commit_callbacks, monkeypatch
):
    seen: list[int] = []
    real_set_progress = imports._set_progress

    def spy(job_pk, processed):
        seen.append(processed)
        real_set_progress(job_pk, processed)

    monkeypatch.setattr(imports, "_set_progress", spy)
    rows = "".join(f"Cliente {i},cliente{i}@example.cl\n" for i in range(1200))
    job = _upload(org, ("name,email\n" + rows).encode())
    job = _confirm_and_run(job, django_capture_on_commit_callbacks)
    assert job.status == CustomerImport.Status.SUCCEEDED
    assert (job.processed_rows, job.total_rows, job.created_count) == (1200, 1200, 1200)
    assert seen[0] < 1200 and seen[-1] == 1200 and seen == sorted(seen)
    assert Customer.objects.count() == 1200


def test_run_fails_without_writing_when_data_changed_since_preview(
    org, in_org, django_capture_on_commit_callbacks
):
    job = _upload(org, b"name,email\nAna,ana@example.cl\nBea,bea@example.cl\n")
    CustomerFactory(organization=org, email="bea@example.cl")
    job = _confirm_and_run(job, django_capture_on_commit_callbacks)
    assert job.status == CustomerImport.Status.FAILED
    assert job.errors[0]["row"] == 3
    assert list(Customer.objects.values_list("email", flat=True)) == ["bea@example.cl"]


def test_running_a_finished_import_again_is_a_no_op(
    org, in_org, django_capture_on_commit_callbacks
):
    job = _upload(org, b"name,email\nAna,ana@example.cl\n")
    job = _confirm_and_run(job, django_capture_on_commit_callbacks)
    customer_import_run(import_id=job.pk)
    assert Customer.objects.count() == 1
