from django import forms

from .services.subscriptions import choosable_components
from .services.webhook_subscribers import endpoint_problem

ALL, SOME = "all", "some"


class ComponentChoiceForm(forms.Form):
    """Which components a subscriber hears about: all (the default, which
    includes components added later) or only the ones ticked."""

    scope = forms.ChoiceField(
        label="Which components?",
        choices=[(ALL, "All components, including any added later"), (SOME, "Only the components I tick below")],
        widget=forms.RadioSelect,
        required=False,
        initial=ALL,
    )
    components = forms.ModelMultipleChoiceField(
        label="Components",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Used only with “Only the components I tick”. A notice about no particular component "
        "(a general incident) reaches every subscriber.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["components"].queryset = choosable_components()

    def clean(self):
        data = super().clean()
        if data.get("scope") == SOME:
            if not data.get("components"):
                self.add_error("components", "Tick at least one component, or choose “All components”.")
        else:
            data["scope"] = ALL
            data["components"] = []
        return data

    @classmethod
    def initial_for(cls, subscriber) -> dict:
        chosen = list(subscriber.components.all())
        return {"scope": SOME if chosen else ALL, "components": chosen}


class SubscribeForm(ComponentChoiceForm):
    email = forms.EmailField(label="Email address", max_length=254)
    field_order = ["email", "scope", "components"]


class WebhookSubscribeForm(ComponentChoiceForm):
    endpoint = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        help_text="We POST Statuspage-compatible JSON here (https only), signed with a secret shown once you confirm.",
    )
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We send the confirmation link here, and tell you if the endpoint keeps failing.",
    )
    field_order = ["endpoint", "email", "scope", "components"]

    def clean_endpoint(self):
        endpoint = self.cleaned_data["endpoint"]
        if problem := endpoint_problem(endpoint):
            raise forms.ValidationError(problem)
        return endpoint
