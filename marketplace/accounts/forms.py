import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organization, Role

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class OrganizationForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=TIME_ZONE_CHOICES,
        initial=settings.PRECIS_DEFAULT_TIME_ZONE,
        help_text=_("Billing periods start and end at midnight in this time zone."),
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    language = forms.ChoiceField(
        label=_("Email language"),
        choices=settings.LANGUAGES,
        required=False,
        help_text=_("Invoices, reminders and other emails to this organization are written in it."),
    )

    class Meta:
        model = Organization
        fields = ["name", "is_buyer", "is_vendor", "time_zone", "language", "website"]
        help_texts = {
            "is_buyer": _("Find, try and subscribe to solutions for your plants."),
            "is_vendor": _("Publish solutions and components, and get paid for their results."),
        }

    def clean_language(self) -> str:
        # Left out (an older form, an API client): keep what the organization has.
        return self.cleaned_data.get("language") or self.instance.language

    def clean(self):
        data = super().clean()
        if not (data.get("is_buyer") or data.get("is_vendor")):
            raise forms.ValidationError(_("Choose at least one: buy, sell, or both."))
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
