import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esm.settings")
# A web process runs the same few queries over and over: its kept connections prepare them
# (esm/settings.py says why workers and commands do not).
os.environ.setdefault("DATABASE_PREPARE_THRESHOLD", "5")

application = get_wsgi_application()
