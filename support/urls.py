from django.urls import path

from . import api, views

app_name = "support"

urlpatterns = [
    path("sla-credits", views.sla_credits, name="sla_credits"),
    path("sla-credits/<int:request_id>", views.sla_credit_detail, name="sla_credit_detail"),
    path("sla-credits/<int:request_id>/attachment", views.sla_credit_attachment, name="sla_credit_attachment"),
    path("disputes", views.disputes, name="disputes"),
    path("disputes/<int:dispute_id>", views.dispute_detail, name="dispute_detail"),
    path("support", views.tickets, name="tickets"),
    path("support/tickets/<int:ticket_id>", views.ticket_detail, name="ticket_detail"),
    path("api/support/tickets", api.TicketListCreateApi.as_view(), name="api_tickets"),
    path("api/support/tickets/<int:ticket_id>", api.TicketDetailApi.as_view(), name="api_ticket"),
    path("dfy/checkout", views.dfy_checkout, name="dfy_checkout"),
    path("dfy/orders", views.dfy_orders, name="dfy_orders"),
    path("dfy/orders/<int:order_id>", views.dfy_order_detail, name="dfy_order_detail"),
    path("emergency-contacts", views.emergency_contacts, name="emergency_contacts"),
    path("api/sla-credits/request", api.SlaCreditRequestCreateApi.as_view(), name="api_sla_credit_request"),
    path("api/sla-credits/my-requests", api.SlaCreditRequestListApi.as_view(), name="api_sla_credit_list"),
    path("api/admin/sla-credits", api.StaffSlaCreditListApi.as_view(), name="api_staff_sla_credits"),
    path(
        "api/admin/sla-credits/<int:request_id>/decision",
        api.StaffSlaCreditDecisionApi.as_view(),
        name="api_staff_sla_credit_decision",
    ),
    path("api/disputes", api.DisputeCreateApi.as_view(), name="api_dispute_create"),
    path("api/disputes/my", api.DisputeListApi.as_view(), name="api_dispute_list"),
]
