from django.urls import path

from . import intake, views

app_name = "billing"

urlpatterns = [
    path("stripe/webhook/<uuid:uuid>/", intake.webhook, name="stripe_webhook"),
    path("billing", views.overview, name="overview"),
    path("billing/checkout", views.checkout, name="checkout"),
    path("billing/welcome", views.welcome, name="welcome"),
    path("billing/portal", views.portal, name="portal"),
]
