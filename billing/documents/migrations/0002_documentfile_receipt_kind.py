from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="documentfile",
            name="kind",
            field=models.CharField(
                choices=[
                    ("invoice", "invoice"),
                    ("credit_note", "credit note"),
                    ("receipt", "paid invoice"),
                ],
                max_length=12,
                verbose_name="kind",
            ),
        ),
    ]
