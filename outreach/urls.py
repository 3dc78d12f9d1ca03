from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Outreach"
admin.site.site_title = "Outreach"
admin.site.index_title = "Open relay notification campaign"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The recipient page: public, reached only by the token printed in a letter.
    path("r/", include("letters.urls")),
]
