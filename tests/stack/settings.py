"""
Settings of the real-stack suite: pretix's test settings with the real parts put back, so that tasks go to a
Redis broker and a real Celery worker, settings are cached in Redis, and mail goes over SMTP to a loopback server.
The worker process uses this module too, pointed at the test database with PRETIX_DATABASE_NAME.
"""
import os

os.environ['PRETIX_CONFIG_FILE'] = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pretix.cfg')

from pretix.testutils.settings import *  # NOQA
from pretix.testutils.settings import ORIGINAL_CACHES, config

CELERY_ALWAYS_EAGER = CELERY_TASK_ALWAYS_EAGER = False
HAS_CELERY = True
CELERY_BROKER_URL = config.get('celery', 'broker')
CELERY_RESULT_BACKEND = config.get('celery', 'backend')
HAS_REDIS = True
CACHES = ORIGINAL_CACHES

EMAIL_BACKEND = 'django.core.mail.backends.smtp.EmailBackend'
EMAIL_HOST = '127.0.0.1'
EMAIL_PORT = int(os.environ.get('GRANTS_SMTP_PORT', '2525'))
EMAIL_TIMEOUT = 10
