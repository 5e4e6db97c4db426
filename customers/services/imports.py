"""CSV import of customers: upload and validate (preview), confirm, run (a Celery task).

Rules:
- The file is at most ``MAX_UPLOAD_BYTES`` and ``MAX_ROWS`` rows. It is decoded as UTF-8 (with
  or without BOM), UTF-16 with a BOM, else Windows-1252/Latin-1; a file that is none of these
  (binary, broken bytes) is refused with a clear message and nothing is stored.
- Columns are found by header, in English or Spanish (``HEADER_ALIASES``); ``name`` and
  ``email`` are required, unknown columns are ignored and listed in the preview. The delimiter
  is a comma, a semicolon (spreadsheets in Spanish) or a tab.
- Every row is validated like ``customer_create`` would; any error (including an email twice
  in the file, or an email of an existing customer unless ``update_existing``) makes the whole
  import invalid: nothing is written, every error is listed with row number and column.
- With ``update_existing``, a row whose email belongs to an existing customer updates that
  customer; blank cells keep the stored values.
- The run re-validates (data may have changed since the preview), reporting progress on the
  job row, then writes every row in ONE transaction: all rows or none.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cobro.events import event_emit
from cobro.models import Organization
from customers.error_codes import CustomerErrorCode
from customers.error_codes import CustomerImportErrorCode as Code
from customers.models import Customer, CustomerImport
from customers.validation import customer_clean

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
PREVIEW_ROWS = 10
MAX_STORED_ERRORS = 500
PROGRESS_EVERY = 250
WRITE_BATCH = 500

COLUMNS = (
    "name",
    "email",
    "phone",
    "tax_id",
    "country",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "locale",
    "notes",
)
REQUIRED_COLUMNS = ("name", "email")

# Folded header (lower case, no accents, separators as "_") -> column.
HEADER_ALIASES: dict[str, str] = {
    **{column: column for column in COLUMNS},
    "nombre": "name",
    "razon_social": "name",
    "full_name": "name",
    "correo": "email",
    "correo_electronico": "email",
    "e_mail": "email",
    "mail": "email",
    "telefono": "phone",
    "celular": "phone",
    "movil": "phone",
    "phone_number": "phone",
    "rut": "tax_id",
    "rfc": "tax_id",
    "cuit": "tax_id",
    "nit": "tax_id",
    "ruc": "tax_id",
    "tax_number": "tax_id",
    "pais": "country",
    "direccion": "address_line1",
    "direccion_1": "address_line1",
    "direccion1": "address_line1",
    "address": "address_line1",
    "address_1": "address_line1",
    "direccion_2": "address_line2",
    "direccion2": "address_line2",
    "address_2": "address_line2",
    "ciudad": "city",
    "comuna": "city",
    "region": "region",
    "estado": "region",
    "provincia": "region",
    "state": "region",
    "codigo_postal": "postal_code",
    "cp": "postal_code",
    "zip": "postal_code",
    "zip_code": "postal_code",
    "idioma": "locale",
    "language": "locale",
    "notas": "notes",
    "nota": "notes",
    "note": "notes",
    "comentarios": "notes",
}


def _file_error(message, code: Code, params: dict | None = None) -> ValidationError:
    return ValidationError({"file": [ValidationError(message, code=code.value, params=params)]})


def _too_large(size: int) -> ValidationError:
    return _file_error(
        _("The file is too large (%(size)s MB); the limit is %(limit)s MB."),
        Code.FILE_TOO_LARGE,
        {"size": f"{size / 1024 / 1024:.1f}", "limit": MAX_UPLOAD_BYTES // 1024 // 1024},
    )


def fold_header(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lstrip("\ufeff"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\s\-./]+", "_", plain).strip("_")


# --- Decoding -------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """The text of an uploaded CSV and the encoding it was read with.

    Raises a ``file`` ValidationError for an empty, oversized, binary or undecodable file.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(len(data))
    if not data.strip():
        raise _file_error(_("The file is empty."), Code.FILE_EMPTY)
    text: str | None = None
    encoding = ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            text = None
    if text is None:
        for candidate, label in (("utf-8-sig", "utf-8"), ("cp1252", "windows-1252")):
            try:
                text, encoding = data.decode(candidate), label
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        # Latin-1 decodes any byte; only accept the result if it reads like text.
        text, encoding = data.decode("latin-1"), "latin-1"
    text = text.lstrip("\ufeff")
    if _CONTROL.search(text):
        raise _file_error(
            _(
                "The file could not be read as text: it is not a CSV in UTF-8 or "
                "Windows-1252/Latin-1 (maybe a spreadsheet or a damaged file). Save it as "
                "“CSV UTF-8” and upload it again."
            ),
            Code.FILE_ENCODING,
        )
    return text, encoding


# --- Parsing --------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class ParsedCsv:
    delimiter: str
    headers: list[str]  # as written in the file
    mapping: dict[int, str]  # cell index -> column
    ignored: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number, column -> cell); header is row 1
    row_errors: list[RowError] = field(default_factory=list)

    def header_for(self, column: str) -> str:
        for index, mapped in self.mapping.items():
            if mapped == column:
                return self.headers[index]
        return column


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(text: str) -> ParsedCsv:
    """Rows keyed by column. File-level problems raise a ``file`` ValidationError; row-level
    shape problems (too many cells) are returned in ``row_errors``."""
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise _file_error(
            _("The file is not a valid CSV (line %(line)s: %(detail)s)."),
            Code.FILE_NOT_CSV,
            {"line": reader.line_num, "detail": str(exc)},
        ) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise _file_error(_("The file is empty."), Code.FILE_EMPTY)
    headers = [cell.strip() for cell in records[0]]
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        column = HEADER_ALIASES.get(fold_header(header))
        if column is None:
            if header:
                ignored.append(header)
            continue
        if column in mapping.values():
            raise _file_error(
                _("Two columns mean the same thing (%(column)s): keep only one."),
                Code.DUPLICATE_COLUMN,
                {"column": header},
            )
        mapping[index] = column
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping.values()]
    if missing:
        raise _file_error(
            _(
                "The first row must name the columns; these are missing: %(missing)s. "
                "Accepted headers include name/nombre and email/correo."
            ),
            Code.MISSING_COLUMNS,
            {"missing": ", ".join(missing)},
        )
    data_rows = records[1:]
    non_blank = sum(1 for r in data_rows if any(cell.strip() for cell in r))
    if non_blank > MAX_ROWS:
        raise _file_error(
            _("The file has %(count)s rows; the limit is %(limit)s per import."),
            Code.TOO_MANY_ROWS,
            {"count": non_blank, "limit": MAX_ROWS},
        )
    if non_blank == 0:
        raise _file_error(_("The file has a header but no customers."), Code.FILE_EMPTY)
    parsed = ParsedCsv(delimiter, headers, mapping, ignored, rows=[])
    for offset, record in enumerate(data_rows):
        number = offset + 2
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(headers) and any(c.strip() for c in record[len(headers) :]):
            parsed.row_errors.append(
                RowError(
                    number,
                    "",
                    Code.WRONG_COLUMN_COUNT.value,
                    gettext("This row has %(cells)d cells but the header has %(columns)d columns.")
                    % {"cells": len(record), "columns": len(headers)},
                )
            )
        values = {column: "" for column in mapping.values()}
        for index, column in mapping.items():
            if index < len(record):
                values[column] = record[index].strip()
        parsed.rows.append((number, values))
    return parsed


# --- Validation -----------------------------------------------------------------------------


@dataclass
class ValidatedRow:
    number: int
    values: dict[str, Any]  # cleaned
    existing_pk: int | None = None


@dataclass
class Validation:
    rows: list[ValidatedRow]
    errors: list[RowError]


def _existing_customers(organization: Organization, emails: Iterable[str]) -> dict[str, tuple]:
    """Lower-cased email -> (pk, country) of this organization's customers, set-based."""
    found: dict[str, tuple] = {}
    emails = list(emails)
    for start in range(0, len(emails), 1000):
        chunk = emails[start : start + 1000]
        qs = (
            Customer.unscoped.filter(organization=organization)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .values_list("email_lower", "pk", "country")
        )
        for email, pk, country in qs:
            found[email] = (pk, country)
    return found


def validate_rows(
    *,
    organization: Organization,
    parsed: ParsedCsv,
    update_existing: bool,
    on_progress: Callable[[int], None] | None = None,
) -> Validation:
    errors = list(parsed.row_errors)
    raw_emails = {values.get("email", "").strip().lower() for _, values in parsed.rows}
    existing = _existing_customers(organization, (e for e in raw_emails if e))
    seen: dict[str, int] = {}
    rows: list[ValidatedRow] = []
    email_header = parsed.header_for("email")
    for position, (number, values) in enumerate(parsed.rows, start=1):
        match = existing.get(values.get("email", "").strip().lower())
        candidate: dict[str, Any] = dict(values)
        default_country = organization.country
        if match and update_existing:
            # Blank cells keep what is stored; the email identifies the customer.
            candidate = {k: v for k, v in values.items() if v or k == "email"}
            default_country = match[1]
        try:
            cleaned = customer_clean(candidate, default_country=default_country)
        except ValidationError as exc:
            for column, field_errors in exc.error_dict.items():
                for err in field_errors:
                    for message in err.messages:
                        errors.append(
                            RowError(number, parsed.header_for(column), err.code or "", message)
                        )
            cleaned = None
        email = cleaned["email"] if cleaned else values.get("email", "").strip().lower()
        if email:
            if email in seen:
                errors.append(
                    RowError(
                        number,
                        email_header,
                        Code.DUPLICATE_IN_FILE.value,
                        gettext("%(email)s is also on row %(row)d of this file.")
                        % {"email": email, "row": seen[email]},
                    )
                )
                cleaned = None
            else:
                seen[email] = number
            if match and not update_existing:
                errors.append(
                    RowError(
                        number,
                        email_header,
                        CustomerErrorCode.DUPLICATE_EMAIL.value,
                        gettext(
                            "A customer with the email %(email)s already exists "
                            "(choose “update existing customers” to update it)."
                        )
                        % {"email": email},
                    )
                )
                cleaned = None
        if cleaned is not None:
            rows.append(ValidatedRow(number, cleaned, match[0] if match else None))
        if on_progress and position % PROGRESS_EVERY == 0:
            on_progress(position)
    if on_progress:
        on_progress(len(parsed.rows))
    errors.sort(key=lambda e: e.row)
    return Validation(rows=rows, errors=errors)


# --- Services -------------------------------------------------------------------------------


def customer_import_create(
    *,
    organization: Organization,
    upload: Any,
    filename: str,
    update_existing: bool = False,
    created_by=None,
) -> CustomerImport:
    """Decode, parse and validate an uploaded CSV (``bytes`` or an ``UploadedFile``) and
    store the result for the preview. File-level problems raise a ``file`` ValidationError
    and store nothing; row errors give a job with status ``invalid`` listing them."""
    # Check the size before reading, so an oversized upload is never loaded into memory.
    size = len(upload) if isinstance(upload, bytes) else upload.size
    if size > MAX_UPLOAD_BYTES:
        raise _too_large(size)
    data = upload if isinstance(upload, bytes) else upload.read()
    text, encoding = decode_csv_bytes(data)
    parsed = parse_csv(text)
    validation = validate_rows(
        organization=organization, parsed=parsed, update_existing=update_existing
    )
    valid = not validation.errors
    job = CustomerImport(
        organization=organization,
        status=CustomerImport.Status.VALIDATED if valid else CustomerImport.Status.INVALID,
        filename=(filename or "customers.csv")[:255],
        content=text if valid else "",
        encoding=encoding,
        delimiter=parsed.delimiter,
        update_existing=update_existing,
        language=translation.get_language() or "es-419",
        columns=[
            {"header": parsed.headers[i], "column": c} for i, c in sorted(parsed.mapping.items())
        ]
        + [{"header": h, "column": ""} for h in parsed.ignored],
        preview_rows=[
            {"row": number, "values": values} for number, values in parsed.rows[:PREVIEW_ROWS]
        ],
        errors=[e.as_dict() for e in validation.errors[:MAX_STORED_ERRORS]],
        error_count=len(validation.errors),
        total_rows=len(parsed.rows),
        created_by=created_by,
    )
    job.save()
    return job


def customer_import_confirm(*, job: CustomerImport) -> CustomerImport:
    """Queue a validated import; the run starts after this transaction commits."""
    from customers.tasks import customer_import_run_task

    with transaction.atomic():
        locked = CustomerImport.unscoped.select_for_update().get(pk=job.pk)
        if locked.status != CustomerImport.Status.VALIDATED:
            raise ValidationError(
                _("This import cannot be started (it is %(status)s)."),
                code=Code.NOT_CONFIRMABLE.value,
                params={"status": locked.get_status_display()},
            )
        locked.status = CustomerImport.Status.QUEUED
        locked.save(update_fields=["status"])
        transaction.on_commit(
            lambda: customer_import_run_task.apply_async(
                args=(locked.organization_id, locked.pk), queue="default"
            )
        )
    return locked


def _set_progress(job_pk: int, processed: int) -> None:
    CustomerImport.unscoped.filter(pk=job_pk).update(processed_rows=processed)


def customer_import_run(*, import_id: int) -> CustomerImport:
    """Re-validate and write every row of a queued import in one transaction.

    Safe to repeat (a redelivered task): a finished import is returned as is, and a run that
    crashed mid-way committed nothing but its progress, so it simply starts over.
    """
    with transaction.atomic():
        job = CustomerImport.objects.select_for_update().get(pk=import_id)
        if job.status not in (CustomerImport.Status.QUEUED, CustomerImport.Status.RUNNING):
            return job
        job.status = CustomerImport.Status.RUNNING
        job.started_at = timezone.now()
        job.processed_rows = 0
        job.save(update_fields=["status", "started_at", "processed_rows"])

    with translation.override(job.language):
        organization = job.organization
        try:
            parsed = parse_csv(job.content)
        except ValidationError as exc:
            return _finish_failed(job, " ".join(exc.messages), [])
        job.total_rows = len(parsed.rows)
        CustomerImport.unscoped.filter(pk=job.pk).update(total_rows=job.total_rows)
        validation = validate_rows(
            organization=organization,
            parsed=parsed,
            update_existing=job.update_existing,
            on_progress=lambda n: _set_progress(job.pk, n),
        )
        if validation.errors:
            return _finish_failed(
                job,
                gettext("Some rows are no longer valid (the customers changed since the preview)."),
                validation.errors,
            )
        try:
            with transaction.atomic():
                created, updated = _write_rows(organization, validation.rows)
                job.status = CustomerImport.Status.SUCCEEDED
                job.processed_rows = job.total_rows
                job.created_count, job.updated_count = created, updated
                job.finished_at = timezone.now()
                job.content = ""  # the data now lives in the customers; drop the copy
                job.save()
                event_emit(
                    organization=organization,
                    type="customers.imported",
                    payload={"import_id": job.pk, "created": created, "updated": updated},
                    subject=job,
                )
        except IntegrityError:
            job.refresh_from_db()
            return _finish_failed(
                job,
                gettext(
                    "Another customer with one of these emails was created meanwhile; "
                    "nothing was imported. Upload the file again."
                ),
                [],
            )
    return job


def _write_rows(organization: Organization, rows: list[ValidatedRow]) -> tuple[int, int]:
    new = [Customer(organization=organization, **row.values) for row in rows if not row.existing_pk]
    Customer.unscoped.bulk_create(new, batch_size=WRITE_BATCH)
    updates = {row.existing_pk: row.values for row in rows if row.existing_pk}
    if updates:
        now = timezone.now()
        customers = list(Customer.unscoped.filter(organization=organization, pk__in=updates))
        fields: set[str] = {"updated_at"}
        for customer in customers:
            for name, value in updates[customer.pk].items():
                setattr(customer, name, value)
                fields.add(name)
            customer.updated_at = now
        Customer.unscoped.bulk_update(customers, sorted(fields), batch_size=WRITE_BATCH)
    return len(new), len(updates)


def _finish_failed(job: CustomerImport, message: str, errors: list[RowError]) -> CustomerImport:
    job.status = CustomerImport.Status.FAILED
    job.failure_message = message
    job.errors = [e.as_dict() for e in errors[:MAX_STORED_ERRORS]]
    job.error_count = len(errors)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "failure_message", "errors", "error_count", "finished_at"])
    return job
