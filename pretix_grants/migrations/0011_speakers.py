# Speakers from pretalx (speakers/)

import django.db.models.deletion
import pretix.base.models.base
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pretix_grants', '0010_tickets'),
        ('pretixbase', '0297_outgoingmail'),
    ]

    operations = [
        migrations.CreateModel(
            name='Speaker',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('code', models.CharField(max_length=64)),
                ('name', models.CharField(default='', max_length=255)),
                ('email', models.EmailField(default='', max_length=254)),
                ('locale', models.CharField(default='', max_length=32)),
                ('role', models.CharField(default='none', max_length=8)),
                ('talks', models.JSONField(default=list)),
                ('state', models.CharField(default='none', max_length=16)),
                ('attention', models.TextField(default='')),
                ('modified', models.DateTimeField(auto_now=True)),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grant_speakers', to='pretixbase.event')),
                ('voucher', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='grant_speakers', to='pretixbase.voucher')),
            ],
            options={
                'ordering': ('name', 'code'),
                'constraints': [models.UniqueConstraint(fields=('event', 'code'), name='pretix_grants_one_speaker_per_code')],
            },
            bases=(models.Model, pretix.base.models.base.LoggingMixin),
        ),
    ]
