from django.db import migrations

from convstore.pricing import DEFAULT_PRICES, DEFAULT_PRICES_FROM


def add_prices(apps, schema_editor):
    ModelPrice = apps.get_model("convstore", "ModelPrice")
    for name, (inp, cached, out) in DEFAULT_PRICES.items():
        ModelPrice.objects.using(schema_editor.connection.alias).get_or_create(
            model_name=name,
            effective_from=DEFAULT_PRICES_FROM,
            defaults={
                "input_per_million": inp,
                "cached_input_per_million": cached,
                "output_per_million": out,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("convstore", "0002_sdk_foreign_keys")]

    operations = [migrations.RunPython(add_prices, migrations.RunPython.noop)]
