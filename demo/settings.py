"""pretix's settings for the demo, with mail written to files under data/mails instead of an SMTP server."""
import os

from pretix.settings import *  # NOQA
from pretix.settings import DATA_DIR, LOGGING

EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'
EMAIL_FILE_PATH = os.path.join(DATA_DIR, 'mails')

# Tasks run in this process here, and Celery logs a line for each at INFO: into the log file with them, so the
# demo's output ends with its login and links, not a screenful of "Task ... succeeded".
LOGGING['loggers']['celery'] = {'handlers': ['file'], 'level': 'INFO', 'propagate': False}
# kombu warns that no broker host is configured: the demo has none on purpose
LOGGING['loggers']['kombu'] = {'handlers': ['file'], 'level': 'INFO', 'propagate': False}
