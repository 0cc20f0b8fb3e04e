"""Forms of the community pages: they parse what people type; services decide what is allowed.

Forms that post text carry a honeypot: a field people never see (hidden by community.css and
from assistive technology) that spam robots fill in.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Term
from marketplace.community.services import TEXT_FIELDS
from marketplace.vendors.forms import markdown_help

HONEYPOT = "nickname"


class HoneypotMixin(forms.Form):
    nickname = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_nickname(self):
        if self.cleaned_data.get(HONEYPOT):
            raise forms.ValidationError(
                _("This looks like an automated submission, so it was not saved.")
            )
        return ""


class ComponentForm(HoneypotMixin):
    """A proposed component, or proposed new values for one."""

    name = forms.CharField(label=_("Name"), max_length=120)
    tagline = forms.CharField(label=_("Tagline"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    license = forms.CharField(
        label=_("Licence (SPDX)"),
        max_length=200,
        help_text=_("An SPDX expression such as Apache-2.0 or MIT OR Apache-2.0."),
    )
    repository_url = forms.URLField(label=_("Repository"), required=False, assume_scheme="https")
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    security_contact = forms.CharField(
        label=_("Security contact"),
        max_length=200,
        required=False,
        help_text=_("Where to report a vulnerability privately: an email address or a URL."),
    )
    edge_hardware = forms.CharField(
        label=_("Supported hardware"),
        max_length=200,
        required=False,
        help_text=_("For example: Raspberry Pi 4, Siemens IOT2050."),
    )
    protocols = forms.MultipleChoiceField(
        label=_("Supported protocols"), required=False, widget=forms.CheckboxSelectMultiple
    )
    summary = forms.CharField(
        label=_("Why this change"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Tell the moderators where the information comes from. Markdown."),
    )

    def __init__(self, *args, protocols: list[Term], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protocols"].choices = [(t.slug, t.label) for t in protocols]
        self.fields["description"].help_text = markdown_help()
        # The honeypot goes last, after the fields people fill in.
        self.order_fields([name for name in self.fields if name != "nickname"])

    def values(self) -> dict:
        data = {name: self.cleaned_data.get(name, "") for name in TEXT_FIELDS}
        data["protocols"] = list(self.cleaned_data.get("protocols") or [])
        return data


class CommentForm(HoneypotMixin):
    body = forms.CharField(
        label=_("Comment"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Markdown."),
    )
    field_order = ["body"]


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to reject; shown to the contributor."),
    )


class VersionForm(forms.Form):
    version = forms.CharField(label=_("Version"), max_length=60)
    changelog = forms.CharField(
        label=_("Changelog"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SbomForm(forms.Form):
    document = forms.FileField(
        label=_("SBOM file"),
        help_text=_("CycloneDX JSON (1.2 to 1.6) or SPDX JSON (2.2 or 2.3), at most 2 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
    )
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Review"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    production_plants = forms.IntegerField(
        label=_("Used in production at how many of your plants?"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Optional. Leave empty to keep it private; filled in, the page shows it."),
    )
