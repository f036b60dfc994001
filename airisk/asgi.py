import gc
import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings")
application = get_asgi_application()

# As in wsgi.py: load every view now and keep the long-lived objects of the loaded application out of the garbage
# collector's sight, so that full collections triggered by requests do not walk them again.
_url_patterns = get_resolver().url_patterns
gc.freeze()
