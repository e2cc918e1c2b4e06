"""
Settings of `make bench`: pretix's test settings with the production parts put back, as in the real-stack suite:
tasks go to Redis and real Celery workers, settings are cached in Redis, mail goes over SMTP to a loopback sink.
The workers use this module too, pointed at the bench database with PRETIX_DATABASE_NAME.
"""
import os

os.environ.setdefault('PRETIX_CONFIG_FILE', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pretix.cfg'))

from pretix.testutils.settings import *  # NOQA
from pretix.testutils.settings import (
    DATABASES, MIDDLEWARE, ORIGINAL_CACHES, config,
)

# no query log kept for every statement, as in production
DEBUG = False
CELERY_ALWAYS_EAGER = CELERY_TASK_ALWAYS_EAGER = False
HAS_CELERY = True
CELERY_BROKER_URL = config.get('celery', 'broker')
CELERY_RESULT_BACKEND = config.get('celery', 'backend')
HAS_REDIS = True
CACHES = ORIGINAL_CACHES
# what pretix's own settings choose with Redis as the cache (the test settings keep sessions in the database only)
SESSION_ENGINE = 'django.contrib.sessions.backends.cached_db'
MIDDLEWARE.remove('pretix.testutils.middleware.DebugFlagMiddleware')

EMAIL_BACKEND = EMAIL_CUSTOM_SMTP_BACKEND = 'django.core.mail.backends.smtp.EmailBackend'
EMAIL_HOST = '127.0.0.1'
EMAIL_PORT = int(os.environ.get('BENCH_SMTP_PORT', '2525'))
EMAIL_TIMEOUT = 10
# as pretix's production settings have it for PostgreSQL (its test settings close the connection after each use,
# so every Celery task would open a new one)
DATABASES['default']['CONN_MAX_AGE'] = 120
DATABASES['default']['CONN_HEALTH_CHECKS'] = True
