from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

# The admin's 403 in its own look and language (outreach.admin_errors).
handler403 = "outreach.admin_errors.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The recipient page: public, reached only by the token printed in a letter.
    path("r/", include("letters.urls")),
]
