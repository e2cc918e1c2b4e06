# Visa invitation letters (letters.py)

import django.db.models.deletion
import pretix.base.models.base
import pretix.helpers.countries
from django.db import migrations, models

import pretix_grants.models


class Migration(migrations.Migration):

    dependencies = [
        ('pretix_grants', '0006_claims'),
        ('pretixbase', '0297_outgoingmail'),
    ]

    operations = [
        migrations.CreateModel(
            name='LetterRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ('email', models.EmailField(max_length=254)),
                ('locale', models.CharField(default='en', max_length=32)),
                ('reference', models.CharField(default=pretix_grants.models.generate_letter_reference, max_length=32, unique=True)),
                ('status', models.CharField(db_index=True, default='requested', max_length=32)),
                ('reason', models.TextField(default='')),
                ('full_name', models.CharField(max_length=255)),
                ('nationality', pretix.helpers.countries.FastCountryField(countries=pretix.helpers.countries.CachedCountries, max_length=2, null=True)),
                ('passport_number', models.CharField(default='', max_length=32)),
                ('passport_expiry', models.DateField(blank=True, null=True)),
                ('date_of_birth', models.DateField(blank=True, null=True)),
                ('address', models.TextField(default='')),
                ('consulate', models.TextField(default='')),
                ('pdf', models.CharField(default='', max_length=255)),
                ('issued_at', models.DateTimeField(blank=True, null=True)),
                ('rendered_at', models.DateTimeField(blank=True, null=True)),
                ('shredded', models.BooleanField(default=False)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('modified', models.DateTimeField(auto_now=True)),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='letter_requests', to='pretixbase.event')),
                ('grant', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='letters', to='pretix_grants.grant')),
                ('order', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='grant_letters', to='pretixbase.order')),
            ],
            options={
                'ordering': ('created', 'id'),
            },
            bases=(models.Model, pretix.base.models.base.LoggingMixin),
        ),
    ]
