# The person's own ticket (tickets/): OwnTicket and TicketHold.

import django.db.models.deletion
import pretix.base.models.base
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pretix_grants', '0009_decisions'),
        ('pretixbase', '0297_outgoingmail'),
    ]

    operations = [
        migrations.CreateModel(
            name='OwnTicket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('handling', models.CharField(max_length=16)),
                ('choice', models.CharField(default='', max_length=16)),
                ('state', models.CharField(default='pending', max_length=16)),
                ('price_paid', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=13)),
                ('error', models.TextField(default='')),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('modified', models.DateTimeField(auto_now=True)),
                ('grant', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='own_ticket', to='pretix_grants.grant')),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='pretixbase.order')),
                ('position', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='pretixbase.orderposition')),
                ('refund', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='pretixbase.orderrefund')),
            ],
            options={
                'abstract': False,
            },
            bases=(models.Model, pretix.base.models.base.LoggingMixin),
        ),
        migrations.CreateModel(
            name='TicketHold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('state', models.CharField(default='held', max_length=16)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('modified', models.DateTimeField(auto_now=True)),
                ('grant', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='ticket_hold', to='pretix_grants.grant')),
                ('voucher', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='pretixbase.voucher')),
            ],
        ),
    ]
