from django.contrib import admin

from levqor.lib import attention


class LevqorAdminSite(admin.AdminSite):
    site_header = "Levqor console"
    site_title = "Levqor"
    index_title = "Today"
    index_template = "admin/levqor_index.html"

    def index(self, request, extra_context=None):
        counts = attention.queue_counts()
        extra_context = {
            **(extra_context or {}),
            "attention_queues": counts,
            "attention_total": attention.total(counts),
        }
        return super().index(request, extra_context)
