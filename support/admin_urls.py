"""Admin → Customers (support/customer.py), included under /admin/customers/ by levqor/urls.py."""

from django.contrib import admin
from django.urls import path

from .customer import customer_page_view, customer_search_view

urlpatterns = [
    path("", admin.site.admin_view(customer_search_view), name="customer_search"),
    path("<int:account_id>/", admin.site.admin_view(customer_page_view), name="customer_page"),
]
