import os

from django.core.wsgi import get_wsgi_application

from airisk import collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings")
application = get_wsgi_application()

collector.settle()  # every view loaded, then the collector's settings for a server process (airisk/collector.py)
