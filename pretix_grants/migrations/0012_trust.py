# Payout batches (claims/payouts.py), the personal data permission, bounded letter fields, files to delete again

from decimal import Decimal

import django.db.models.deletion
import pretix.base.models.base
from django.conf import settings
from django.db import migrations, models


def managers_keep_personal_data(apps, schema_editor):
    """Teams that managed grants saw passports and bank accounts: they keep them, now as their own permission."""
    Team = apps.get_model('pretixbase', 'Team')
    for team in Team.objects.filter(all_event_permissions=False):
        perms = team.limit_event_permissions or {}
        if isinstance(perms, dict) and perms.get('pretix_grants:write'):
            perms['pretix_grants:personal'] = True
            team.limit_event_permissions = perms
            team.save(update_fields=['limit_event_permissions'])


class Migration(migrations.Migration):

    dependencies = [
        ('pretix_grants', '0011_speakers'),
        ('pretixbase', '0297_outgoingmail'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PayoutBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('format', models.CharField(max_length=8)),
                ('total', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=13)),
                ('content', models.BinaryField(default=b'')),
                ('filename', models.CharField(max_length=255)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('paid_at', models.DateTimeField(blank=True, null=True)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('cancelled_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grant_payout_batches', to='pretixbase.event')),
            ],
            options={
                'ordering': ('-created', '-id'),
            },
            bases=(models.Model, pretix.base.models.base.LoggingMixin),
        ),
        migrations.CreateModel(
            name='PayoutEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=13)),
                ('active', models.BooleanField(default=True)),
                ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='pretix_grants.payoutbatch')),
                ('claim', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='payout_entries', to='pretix_grants.claim')),
            ],
            options={
                'ordering': ('batch', 'id'),
                'constraints': [models.UniqueConstraint(condition=models.Q(('active', True)), fields=('claim',), name='pretix_grants_claim_in_one_live_batch')],
            },
        ),
        migrations.AlterField(
            model_name='letterrequest',
            name='address',
            field=models.TextField(blank=True, default='', max_length=500, verbose_name='Postal address'),
        ),
        migrations.AlterField(
            model_name='letterrequest',
            name='consulate',
            field=models.TextField(blank=True, default='', max_length=500, verbose_name='Consulate or embassy'),
        ),
        migrations.CreateModel(
            name='FileToDelete',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=255, unique=True)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(managers_keep_personal_data, migrations.RunPython.noop),
    ]
