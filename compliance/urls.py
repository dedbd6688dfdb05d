from django.urls import include, path

from . import api, views

app_name = "compliance"

urlpatterns = [
    path("cookies", views.cookie_preferences, name="cookies"),
    path("cookies/consent", views.cookie_consent, name="cookie_consent"),
    path("legal/accept-terms", views.terms_accept, name="terms_accept"),
    path("marketing/subscribe", views.marketing_subscribe, name="marketing_subscribe"),
    path("marketing/confirm/<str:token>", views.marketing_confirm, name="marketing_confirm"),
    path("marketing/preferences/<str:token>", views.marketing_preferences, name="marketing_preferences"),
    path("marketing/unsubscribe/<str:token>", views.marketing_unsubscribe, name="marketing_unsubscribe"),
    path("privacy-tools/opt-out", views.opt_out, name="opt_out"),
    path("high-risk-data", views.high_risk_data, name="high_risk_data"),
    path("high-risk-data/appeal/<int:block_id>", views.screening_appeal, name="screening_appeal"),
    # API (DRF). Session authentication until the API-key auth lands; see compliance/api.py.
    path("api/legal/accept-terms", api.TermsAcceptApi.as_view(), name="api_terms_accept"),
    path("api/legal/acceptance", api.TermsAcceptanceApi.as_view(), name="api_terms_acceptance"),
    path("api/gdpr/opt-out", api.OptOutApi.as_view(), name="api_opt_out"),
    path("api/marketing/subscribe", api.MarketingSubscribeApi.as_view(), name="api_marketing_subscribe"),
    path("api/marketing/status", api.MarketingStatusApi.as_view(), name="api_marketing_status"),
    path("api/marketing/unsubscribe", api.MarketingUnsubscribeApi.as_view(), name="api_marketing_unsubscribe"),
    # Data requests (DSAR exports, erasure): compliance/dsar/urls.py.
    path("", include("compliance.dsar.urls")),
]
