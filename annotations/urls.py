from django.urls import path

from . import views

app_name = "annotations"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("articles/<int:pk>/annotate/", views.article_annotate, name="article-annotate"),
]
