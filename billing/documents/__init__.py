"""Issued documents as files: invoice and credit note PDFs, rendered once and stored."""
