"""The default model prices, as convstore.pricing.DEFAULT_PRICES had them when this was written.

Frozen here, so that every database migrated through 0003 holds the same rows
whenever it was created. A later price change comes as a migration of its own
(new rows, dated from when they apply), never as an edit of this one.
Reversed, the rows still as seeded are removed; edited ones stay.
"""

import datetime

from django.db import migrations

EFFECTIVE_FROM = datetime.date(2025, 1, 1)

# USD per 1M tokens: input, cached input, output.
PRICES = {
    "gpt-4.1": ("2.00", "0.50", "8.00"),
    "gpt-4.1-mini": ("0.40", "0.10", "1.60"),
    "gpt-4.1-nano": ("0.10", "0.025", "0.40"),
    "gpt-4o": ("2.50", "1.25", "10.00"),
    "gpt-4o-mini": ("0.15", "0.075", "0.60"),
    "o3": ("2.00", "0.50", "8.00"),
    "o4-mini": ("1.10", "0.275", "4.40"),
    "gpt-5": ("1.25", "0.125", "10.00"),
    "gpt-5-mini": ("0.25", "0.025", "2.00"),
    "gpt-5-nano": ("0.05", "0.005", "0.40"),
}


def seeded(name):
    inp, cached, out = PRICES[name]
    return {
        "input_per_million": inp,
        "cached_input_per_million": cached,
        "output_per_million": out,
    }


def add_prices(apps, schema_editor):
    ModelPrice = apps.get_model("convstore", "ModelPrice")
    for name in PRICES:
        ModelPrice.objects.using(schema_editor.connection.alias).get_or_create(
            model_name=name, effective_from=EFFECTIVE_FROM, defaults=seeded(name)
        )


def remove_prices(apps, schema_editor):
    ModelPrice = apps.get_model("convstore", "ModelPrice")
    for name in PRICES:
        ModelPrice.objects.using(schema_editor.connection.alias).filter(
            model_name=name, effective_from=EFFECTIVE_FROM, **seeded(name)
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("convstore", "0002_sdk_foreign_keys")]

    operations = [migrations.RunPython(add_prices, remove_prices)]
