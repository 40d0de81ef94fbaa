from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from convstore.health import healthz
from convstore.login_links import login_with_link

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/link/<uidb64>/<token>/", login_with_link, name="login-link"),
    path("", include("analytics.urls")),
]
