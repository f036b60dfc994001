import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airisk.settings")
application = get_wsgi_application()

# Load every view now, then move the long-lived objects of the loaded application (several hundred thousand:
# modules, classes, URL patterns, settings) out of the garbage collector's sight. Otherwise each full collection,
# which requests trigger every few hundred allocations, walks all of them again; on the hottest API reads that
# was a fifth of the request's CPU time. Objects created later are collected as usual.
_url_patterns = get_resolver().url_patterns
gc.freeze()
