from django.urls import path

from . import api

app_name = "assist"

urlpatterns = [
    path("api/ai/chat", api.ChatApi.as_view(), name="chat"),
    path("api/ai/workflow", api.WorkflowDraftApi.as_view(), name="workflow"),
    path("api/ai/debug", api.DebugApi.as_view(), name="debug"),
    path("api/ai/onboarding", api.OnboardingApi.as_view(), name="onboarding"),
]
