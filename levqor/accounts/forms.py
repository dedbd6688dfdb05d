from django import forms


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={
            "required": "Enter the email address you use for Levqor.",
            "invalid": "Enter a valid email address.",
        },
    )
