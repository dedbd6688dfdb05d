from django.conf import settings

from levqor.lib import banners

from . import plans


def site(request):
    return {
        "banners": banners.for_request(request),
        "trial_text": plans.TRIAL_TEXT,
        "support_email": settings.LEVQOR_SUPPORT_EMAIL,
    }
