"""Public URLs of the recipient page, mounted at /r/ by outreach.urls."""

from __future__ import annotations

from django.urls import path, re_path

from letters import views

app_name = "recipient"

urlpatterns = [
    # Before the token pattern: "code" is never a token (tokens are 32 characters).
    path("code/", views.code_entry, name="code"),
    path("<str:token>/", views.page, name="page"),
    path("<str:token>/letter/", views.sent_letter, name="letter"),
    re_path(r"^(?P<token>[^/]+)/(?P<action>answer|fixed|dispute|optout)/$", views.act, name="act"),
]
