from __future__ import annotations

from django.contrib import admin
from django.urls import path

admin.site.site_header = "Outreach"
admin.site.site_title = "Outreach"
admin.site.index_title = "Open relay notification campaign"

urlpatterns = [
    path("admin/", admin.site.urls),
]
