"""The production URLs plus the bench's floor views (``bench.settings`` only)."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/bare/", views.bare, name="bench-bare"),
    path("bench/bare/quotes/", views.bare_quotes, name="bench-bare-quotes"),
    path("bench/bare/stats/", views.bare_stats, name="bench-bare-stats"),
    path("", include("config.urls")),
]
