"""An index on (session, branch, branch turn): forking and a branch's turns in order
read the rows they need instead of every row of the branch."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('convstore', '0007_content_reads'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='messagestructure',
            index=models.Index(fields=['session', 'branch_id', 'branch_turn_number'], name='idx_structure_branch_turn'),
        ),
    ]
