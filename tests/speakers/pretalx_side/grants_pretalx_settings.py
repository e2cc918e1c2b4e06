"""pretalx's own settings, with a cache in memory: the test server uses no Redis database of the machine."""
from pretalx.settings import *  # NOQA: F401,F403

CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}
SESSION_ENGINE = 'django.contrib.sessions.backends.db'
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = 'django.core.mail.backends.locmem.EmailBackend'
