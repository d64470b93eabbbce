from django.urls import path

from .views import workspace

app_name = "annotations"

urlpatterns = [
    path("health/", workspace.health, name="health"),
    # --- The workspace: queue, articles, annotate page, quote fragments.
    path("", workspace.home, name="home"),
    path("articles/<int:pk>/annotate/", workspace.article_annotate, name="article-annotate"),
    # --- Review, curation and agreement.
    # --- API tokens.
]
