"""Scale: list indexes (newest first, by status), and the derived data of billing.metrics.

The MRR ledger (``MrrSubscriptionState``, ``MrrCustomerState``, ``MrrMovement``) is written by
a trigger on ``cobro_outboxevent`` in the same transaction as each ``subscription.*`` event,
whichever code path inserts it (services, the billing run's COPY), and backfilled here from
the events already written. ``MetricsBucket`` rows are caches that triggers delete when a row
they summarized changes. See billing/models/metrics.py and billing/metrics.py.
"""

import django.db.models.deletion
from django.db import migrations, models

MRR_LEDGER = r"""
CREATE OR REPLACE FUNCTION billing_mrr_apply(
    p_org bigint, p_subject text, p_payload jsonb, p_at timestamptz
) RETURNS void AS $$
DECLARE
  pr record;
  st record;
  v_sub bigint;
  v_customer bigint;
  v_num bigint;
  v_cnt integer;
  v_prev_num bigint := 0;
  v_prev_cnt integer;
  v_max bigint := 0;
  v_kind text;
  v_delta smallint := 0;
  v_paying integer;
  v_since timestamptz;
BEGIN
  -- Only events that describe the subscription's state after the change (see billing.metrics);
  -- anything malformed is skipped, never allowed to fail the transaction that wrote it.
  IF p_subject !~ '^[0-9]{1,18}$'
     OR coalesce(p_payload->>'price_id', '') !~ '^[0-9]{1,18}$'
     OR coalesce(p_payload->>'quantity', '') !~ '^[0-9]{1,9}$'
     OR coalesce(p_payload->>'customer_id', '') !~ '^[0-9]{1,18}$'
     OR NOT (p_payload ? 'status') THEN
    RETURN;
  END IF;
  SELECT amount_minor, "interval", interval_count, currency INTO pr
    FROM billing_price WHERE id = (p_payload->>'price_id')::bigint;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  v_sub := p_subject::bigint;
  v_customer := (p_payload->>'customer_id')::bigint;
  v_cnt := pr.interval_count;
  IF p_payload->>'status' IN ('active', 'past_due') THEN
    v_num := pr.amount_minor * (p_payload->>'quantity')::bigint
      * CASE pr."interval" WHEN 'day' THEN 365 WHEN 'week' THEN 52 WHEN 'month' THEN 12
                           ELSE 1 END;
  ELSE
    v_num := 0;
  END IF;

  SELECT num, cnt, max_num INTO st FROM billing_mrrsubscriptionstate
    WHERE subscription_id = v_sub AND currency = pr.currency FOR UPDATE;
  IF FOUND THEN
    IF st.num = v_num AND st.cnt = v_cnt THEN
      RETURN;  -- a renewal or any change that leaves MRR as it was
    END IF;
    v_prev_num := st.num;
    v_prev_cnt := st.cnt;
    v_max := st.max_num;
    UPDATE billing_mrrsubscriptionstate
       SET num = v_num, cnt = v_cnt, max_num = greatest(max_num, v_num),
           customer_id = v_customer
     WHERE subscription_id = v_sub AND currency = pr.currency;
  ELSE
    v_prev_cnt := v_cnt;
    INSERT INTO billing_mrrsubscriptionstate
      (organization_id, subscription_id, currency, customer_id, num, cnt, max_num)
      VALUES (p_org, v_sub, pr.currency, v_customer, v_num, v_cnt, v_num);
  END IF;

  v_kind := CASE
    WHEN v_prev_num = 0 AND v_num > 0 THEN
      CASE WHEN v_max > 0 THEN 'reactivation' ELSE 'new' END
    WHEN v_prev_num > 0 AND v_num = 0 THEN 'churn'
    WHEN v_num * v_prev_cnt > v_prev_num * v_cnt THEN 'expansion'
    WHEN v_num * v_prev_cnt < v_prev_num * v_cnt THEN 'contraction'
  END;
  IF v_kind IS NULL THEN
    RETURN;
  END IF;

  IF v_prev_num = 0 AND v_num > 0 THEN
    INSERT INTO billing_mrrcustomerstate
      (organization_id, customer_id, currency, paying_subscriptions, paying_since)
      VALUES (p_org, v_customer, pr.currency, 1, p_at)
      ON CONFLICT (customer_id, currency) DO UPDATE
        SET paying_subscriptions = billing_mrrcustomerstate.paying_subscriptions + 1,
            paying_since = CASE WHEN billing_mrrcustomerstate.paying_subscriptions = 0
                                THEN EXCLUDED.paying_since
                                ELSE billing_mrrcustomerstate.paying_since END
      RETURNING paying_subscriptions INTO v_paying;
    IF v_paying = 1 THEN
      v_delta := 1;
    END IF;
  ELSIF v_prev_num > 0 AND v_num = 0 THEN
    UPDATE billing_mrrcustomerstate SET paying_subscriptions = paying_subscriptions - 1
     WHERE customer_id = v_customer AND currency = pr.currency
     RETURNING paying_subscriptions, paying_since INTO v_paying, v_since;
    IF v_paying = 0 THEN
      v_delta := -1;
    END IF;
  END IF;

  INSERT INTO billing_mrrmovement
    (organization_id, subscription_id, customer_id, currency, occurred_at, kind,
     prev_num, prev_cnt, cur_num, cur_cnt, customer_delta, paying_since)
    VALUES (p_org, v_sub, v_customer, pr.currency, p_at, v_kind,
            v_prev_num, v_prev_cnt, v_num, v_cnt, v_delta,
            CASE WHEN v_delta = -1 THEN v_since END);
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_mrr_on_event() RETURNS trigger AS $$
BEGIN
  PERFORM billing_mrr_apply(NEW.organization_id, NEW.subject_id, NEW.payload, NEW.created_at);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_mrr_on_event AFTER INSERT ON cobro_outboxevent
  FOR EACH ROW
  WHEN (NEW.subject_type = 'billing.subscription' AND NEW.type LIKE 'subscription.%')
  EXECUTE FUNCTION billing_mrr_on_event();

-- A cached bucket disappears as soon as a row it summarized (or a row in its interval) is
-- written, so billing.metrics recomputes it on its next read.
CREATE OR REPLACE FUNCTION billing_metrics_bucket_touch(
    p_org bigint, p_metric text, p_at timestamptz
) RETURNS void AS $$
  DELETE FROM billing_metricsbucket
   WHERE organization_id = p_org AND metric = p_metric AND start <= p_at AND "end" > p_at;
$$ LANGUAGE sql;

CREATE OR REPLACE FUNCTION billing_metrics_touch_row() RETURNS trigger AS $$
DECLARE
  v_metric text := TG_ARGV[0];
  v_column text := TG_ARGV[1];
  v_new timestamptz;
  v_old timestamptz;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('SELECT ($1).%I', v_column) INTO v_new USING NEW;
    IF v_new IS NOT NULL THEN
      PERFORM billing_metrics_bucket_touch(NEW.organization_id, v_metric, v_new);
    END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    EXECUTE format('SELECT ($1).%I', v_column) INTO v_old USING OLD;
    IF v_old IS NOT NULL AND v_old IS DISTINCT FROM v_new THEN
      PERFORM billing_metrics_bucket_touch(OLD.organization_id, v_metric, v_old);
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_metrics_mrr AFTER INSERT OR DELETE ON billing_mrrmovement
  FOR EACH ROW EXECUTE FUNCTION billing_metrics_touch_row('mrr', 'occurred_at');

CREATE TRIGGER billing_metrics_paid_insert AFTER INSERT ON billing_invoice
  FOR EACH ROW WHEN (NEW.paid_at IS NOT NULL)
  EXECUTE FUNCTION billing_metrics_touch_row('paid', 'paid_at');
CREATE TRIGGER billing_metrics_paid_update AFTER UPDATE ON billing_invoice
  FOR EACH ROW WHEN (OLD.paid_at IS DISTINCT FROM NEW.paid_at
                     OR OLD.amount_paid_minor <> NEW.amount_paid_minor
                     OR OLD.status <> NEW.status OR OLD.currency <> NEW.currency)
  EXECUTE FUNCTION billing_metrics_touch_row('paid', 'paid_at');
CREATE TRIGGER billing_metrics_paid_delete AFTER DELETE ON billing_invoice
  FOR EACH ROW WHEN (OLD.paid_at IS NOT NULL)
  EXECUTE FUNCTION billing_metrics_touch_row('paid', 'paid_at');

CREATE TRIGGER billing_metrics_attempts AFTER INSERT OR UPDATE OR DELETE
  ON payments_paymentattempt
  FOR EACH ROW EXECUTE FUNCTION billing_metrics_touch_row('payments', 'created_at');

-- Backfill: replay the events already written, in the order billing.metrics always used.
DO $$
DECLARE e record;
BEGIN
  FOR e IN SELECT organization_id, subject_id, payload, created_at FROM cobro_outboxevent
            WHERE subject_type = 'billing.subscription' AND type LIKE 'subscription.%'
            ORDER BY created_at, id
  LOOP
    PERFORM billing_mrr_apply(e.organization_id, e.subject_id, e.payload, e.created_at);
  END LOOP;
END $$;
"""

MRR_LEDGER_REVERSE = r"""
DROP TRIGGER IF EXISTS billing_metrics_attempts ON payments_paymentattempt;
DROP TRIGGER IF EXISTS billing_metrics_paid_delete ON billing_invoice;
DROP TRIGGER IF EXISTS billing_metrics_paid_update ON billing_invoice;
DROP TRIGGER IF EXISTS billing_metrics_paid_insert ON billing_invoice;
DROP TRIGGER IF EXISTS billing_metrics_mrr ON billing_mrrmovement;
DROP TRIGGER IF EXISTS billing_mrr_on_event ON cobro_outboxevent;
DROP FUNCTION IF EXISTS billing_metrics_touch_row();
DROP FUNCTION IF EXISTS billing_metrics_bucket_touch(bigint, text, timestamptz);
DROP FUNCTION IF EXISTS billing_mrr_on_event();
DROP FUNCTION IF EXISTS billing_mrr_apply(bigint, text, jsonb, timestamptz);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_issued_documents_immutable"),
        ("cobro", "0003_audit_actor_set_null"),
        ("customers", "0002_customer_import"),
        ("payments", "0003_manual_payments"),
    ]

    operations = [
        migrations.CreateModel(
            name="MetricsBucket",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                ("metric", models.CharField(max_length=20)),
                ("start", models.DateTimeField()),
                ("end", models.DateTimeField()),
                ("data", models.JSONField()),
            ],
        ),
        migrations.CreateModel(
            name="MrrCustomerState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_id", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("paying_subscriptions", models.IntegerField(default=0)),
                ("paying_since", models.DateTimeField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name="MrrMovement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subscription_id", models.BigIntegerField()),
                ("customer_id", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("occurred_at", models.DateTimeField()),
                ("kind", models.CharField(max_length=12)),
                ("prev_num", models.BigIntegerField()),
                ("prev_cnt", models.PositiveSmallIntegerField()),
                ("cur_num", models.BigIntegerField()),
                ("cur_cnt", models.PositiveSmallIntegerField()),
                ("customer_delta", models.SmallIntegerField(default=0)),
                ("paying_since", models.DateTimeField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name="MrrSubscriptionState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subscription_id", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("customer_id", models.BigIntegerField()),
                ("num", models.BigIntegerField()),
                ("cnt", models.PositiveSmallIntegerField()),
                ("max_num", models.BigIntegerField()),
            ],
        ),
        migrations.RemoveIndex(
            model_name="invoice",
            name="invoice_org_status",
        ),
        migrations.RemoveIndex(
            model_name="subscription",
            name="subscription_org_status",
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["organization", "created_at", "id"], name="invoice_org_created"
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["organization", "status", "created_at", "id"],
                include=("currency", "due_at", "amount_due_minor"),
                name="invoice_org_status_created",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("paid_at__isnull", False)),
                fields=["organization", "paid_at"],
                name="invoice_org_paid",
            ),
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                fields=["organization", "created_at", "id"], name="subscription_org_created"
            ),
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                fields=["organization", "status", "created_at", "id"],
                include=("currency",),
                name="subscription_org_status_crt",
            ),
        ),
        migrations.AddField(
            model_name="metricsbucket",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="cobro.organization",
            ),
        ),
        migrations.AddField(
            model_name="mrrcustomerstate",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="cobro.organization",
            ),
        ),
        migrations.AddField(
            model_name="mrrmovement",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="cobro.organization",
            ),
        ),
        migrations.AddField(
            model_name="mrrsubscriptionstate",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="cobro.organization",
            ),
        ),
        migrations.AddConstraint(
            model_name="metricsbucket",
            constraint=models.UniqueConstraint(
                fields=("organization", "currency", "metric", "start", "end"),
                name="metricsbucket_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="mrrcustomerstate",
            constraint=models.UniqueConstraint(
                fields=("customer_id", "currency"), name="mrrcustomer_unique_customer"
            ),
        ),
        migrations.AddIndex(
            model_name="mrrmovement",
            index=models.Index(
                fields=["organization", "currency", "occurred_at"],
                include=("kind", "prev_cnt", "cur_cnt", "prev_num", "cur_num", "customer_delta"),
                name="mrrmovement_org_at",
            ),
        ),
        migrations.AddIndex(
            model_name="mrrmovement",
            index=models.Index(
                condition=models.Q(("customer_delta", -1)),
                fields=["organization", "currency", "occurred_at"],
                include=("customer_id", "paying_since"),
                name="mrrmovement_stops",
            ),
        ),
        migrations.AddConstraint(
            model_name="mrrsubscriptionstate",
            constraint=models.UniqueConstraint(
                fields=("subscription_id", "currency"), name="mrrstate_unique_subscription"
            ),
        ),
        migrations.RunSQL(MRR_LEDGER, MRR_LEDGER_REVERSE),
    ]
