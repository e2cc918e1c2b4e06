import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pretixbase', '0297_outgoingmail'),
        ('pretix_grants', '0004_bulk_mail'),
    ]

    operations = [
        migrations.AddField(
            model_name='grant',
            name='subevent',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name='grants', to='pretixbase.subevent', verbose_name='Date'),
        ),
    ]
