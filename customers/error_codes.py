"""Error codes of the customers app: stable identifiers carried by every ValidationError."""

from __future__ import annotations

from enum import StrEnum


class CustomerErrorCode(StrEnum):
    REQUIRED = "required"
    TOO_LONG = "too_long"
    INVALID_EMAIL = "invalid_email"
    DUPLICATE_EMAIL = "duplicate_email"
    INVALID_TAX_ID = "invalid_tax_id"
    INVALID_PHONE = "invalid_phone"
    INVALID_COUNTRY = "invalid_country"
    INVALID_LOCALE = "invalid_locale"
    INVALID_METADATA = "invalid_metadata"
    UNKNOWN_FIELD = "unknown_field"


class CustomerImportErrorCode(StrEnum):
    FILE_EMPTY = "file_empty"
    FILE_TOO_LARGE = "file_too_large"
    FILE_ENCODING = "file_encoding"
    FILE_NOT_CSV = "file_not_csv"
    TOO_MANY_ROWS = "too_many_rows"
    MISSING_COLUMNS = "missing_columns"
    DUPLICATE_COLUMN = "duplicate_column"
    DUPLICATE_IN_FILE = "duplicate_in_file"
    WRONG_COLUMN_COUNT = "wrong_column_count"
    NOT_CONFIRMABLE = "not_confirmable"
