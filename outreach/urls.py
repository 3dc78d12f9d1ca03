from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The recipient page: public, reached only by the token printed in a letter.
    path("r/", include("letters.urls")),
]
