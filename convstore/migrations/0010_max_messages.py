"""max_messages: the limit a conversation's agent writes with, and the items it trimmed."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('convstore', '0009_retention'),
    ]

    operations = [
        migrations.AddField(
            model_name='agentsession',
            name='max_messages',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='agentsession',
            name='trimmed_items',
            field=models.IntegerField(db_default=0),
        ),
    ]
