from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotations.auth import AdminLoginForm, LoginForm

# Both login forms refuse the published demo passwords when DEBUG is off.
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", include("annotations.urls")),
    path("api/", include("annotations.api")),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
