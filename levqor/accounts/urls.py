from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login", views.login, name="login"),
    path("login/magic", views.magic, name="magic"),
    path("logout", views.logout, name="logout"),
    path("account", views.home, name="home"),
]
