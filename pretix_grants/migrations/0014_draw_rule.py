from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pretix_grants', '0013_travel_support'),
    ]

    operations = [
        migrations.AddField(
            model_name='draw',
            name='rule',
            field=models.CharField(default='overlap', max_length=16),
        ),
    ]
