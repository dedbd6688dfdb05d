from django.urls import path

from . import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("pricing", views.pricing, name="pricing"),
    path("pricing/not-ready/dismiss", views.not_ready_dismiss, name="not_ready_dismiss"),
    path("dfy-contract", views.dfy_contract, name="dfy_contract"),
    path("terms", views.terms, name="terms"),
    path("terms/v/<str:version>", views.terms_version, name="terms_version"),
    path("privacy", views.privacy, name="privacy"),
    path("refunds", views.refunds, name="refunds"),
    path("sla", views.sla, name="sla"),
    path("business-continuity", views.business_continuity, name="business_continuity"),
]
