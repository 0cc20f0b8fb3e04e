"""The Celery application.

Tasks run eagerly (in the web process) unless CELERY_BROKER_URL is set; then a real worker
(`celery -A marketplace worker`) and beat (`celery -A marketplace beat`) take them. The beat
schedule lives in settings (CELERY_BEAT_SCHEDULE) so that every process agrees on it.
"""

import os

from celery import Celery

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.dev"

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
