from django.contrib import admin
from django.contrib.auth.models import Group as AuthGroup

# AIRisk has its own company-scoped groups; Django's permission groups are not used.
admin.site.unregister(AuthGroup)
