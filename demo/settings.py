"""pretix's settings for the demo, with mail written to files under data/mails instead of an SMTP server."""
import os

from pretix.settings import *  # NOQA
from pretix.settings import DATA_DIR

EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'
EMAIL_FILE_PATH = os.path.join(DATA_DIR, 'mails')
