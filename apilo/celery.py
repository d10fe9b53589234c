"""Celery application. Without CELERY_BROKER_URL tasks run in-process (eagerly): the embedded default."""

import os

from celery import Celery

from . import broker  # noqa: F401 - registers the embedded broker's `fsqueue://` transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apilo.settings")

app = Celery("apilo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
