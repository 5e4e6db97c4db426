"""Database guard: issued invoices and their lines/taxes never change (services refuse first).

Payment-state columns (status to paid/void/uncollectible, paid/voided dates, amount paid or
due) may still move; document columns may not, and lines/taxes of an issued invoice cannot be
updated or deleted, nor can an issued invoice be deleted.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'issued invoice % cannot be deleted', OLD.number
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'draft' AND (
       NEW.status = 'draft'
    OR NEW.number IS DISTINCT FROM OLD.number
    OR NEW.sequence_number IS DISTINCT FROM OLD.sequence_number
    OR NEW.currency <> OLD.currency
    OR NEW.customer_id <> OLD.customer_id
    OR NEW.subscription_id IS DISTINCT FROM OLD.subscription_id
    OR NEW.issued_at IS DISTINCT FROM OLD.issued_at
    OR NEW.period_start IS DISTINCT FROM OLD.period_start
    OR NEW.period_end IS DISTINCT FROM OLD.period_end
    OR NEW.subtotal_minor <> OLD.subtotal_minor
    OR NEW.discount_minor <> OLD.discount_minor
    OR NEW.tax_minor <> OLD.tax_minor
    OR NEW.total_minor <> OLD.total_minor
    OR NEW.credit_applied_minor <> OLD.credit_applied_minor
  ) THEN
    RAISE EXCEPTION 'issued invoice % cannot be changed', OLD.number
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_guard BEFORE UPDATE OR DELETE ON billing_invoice
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE OR REPLACE FUNCTION billing_invoice_child_guard() RETURNS trigger AS $$
DECLARE parent_status text;
BEGIN
  SELECT status INTO parent_status FROM billing_invoice WHERE id = OLD.invoice_id;
  IF parent_status IS NOT NULL AND parent_status <> 'draft' THEN
    RAISE EXCEPTION 'lines of an issued invoice cannot be changed'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_guard BEFORE UPDATE OR DELETE ON billing_invoiceline
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_child_guard();
CREATE TRIGGER billing_invoicetax_guard BEFORE UPDATE OR DELETE ON billing_invoicetax
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_child_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_invoicetax_guard ON billing_invoicetax;
DROP TRIGGER IF EXISTS billing_invoiceline_guard ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_child_guard();
DROP FUNCTION IF EXISTS billing_invoice_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
