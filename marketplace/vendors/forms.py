"""Forms of the vendor portal: they parse what vendors type; services decide what is allowed."""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import (
    normalize_registration_number,
    validate_registration_number,
)
from marketplace.catalog.models import Listing, Term
from marketplace.catalog.selectors import component_choices
from marketplace.catalog.services import KpiClaimInput
from marketplace.catalog.validators import validate_semver, validate_sha256

MAX_KPI_CLAIMS = 5

# What catalog/markdown.py keeps, written the way a vendor types it.
MARKDOWN_SYNTAX = [
    ("## Heading", _("headings (#, ## or ###)")),
    ("**bold**  *italic*", _("bold and italic")),
    ("- item  1. item", _("bulleted and numbered lists")),
    ("[text](https://example.com)", _("links (https, http and mailto)")),
    ("`code`", _("inline code, and code blocks between ``` lines")),
    ("> quote", _("quotes")),
    ("| a | b |", _("tables")),
    ("---", _("a horizontal rule")),
]


def markdown_help() -> str:
    items = format_html_join("", "<li><code>{}</code> {}</li>", MARKDOWN_SYNTAX)
    return format_html(
        "{}<ul>{}</ul>{}",
        _("Markdown. You can use:"),
        items,
        _("Images are left out and HTML shows as plain text."),
    )


class TermChoiceField(forms.ModelMultipleChoiceField):
    """Facet values of one kind, as a group of checkboxes labelled in the reader's language."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, kind: str, **kwargs):
        super().__init__(queryset=Term.objects.filter(kind=kind), required=False, **kwargs)

    def label_from_instance(self, obj: Term) -> str:
        return obj.label


class ComponentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Listing) -> str:
        if obj.status == Listing.Status.PUBLISHED:
            return f"{obj.name} ({obj.vendor.name})"
        return f"{obj.name} ({obj.vendor.name}, {obj.get_status_display()})"


TERM_FIELDS = {
    "industries": Term.Kind.INDUSTRY,
    "scenarios": Term.Kind.SCENARIO,
    "deployments": Term.Kind.DEPLOYMENT,
    "protocols": Term.Kind.PROTOCOL,
    "pricing_models": Term.Kind.PRICING,
}


class ListingForm(forms.ModelForm):
    """A listing's content. The model's own validation (SPDX licence, limits, the rule that a
    component needs a licence) runs in is_valid(), so its messages appear on the form."""

    industries = TermChoiceField(Term.Kind.INDUSTRY, label=_("Industries"))
    scenarios = TermChoiceField(Term.Kind.SCENARIO, label=_("Scenarios"))
    deployments = TermChoiceField(Term.Kind.DEPLOYMENT, label=_("Deployment"))
    protocols = TermChoiceField(Term.Kind.PROTOCOL, label=_("Protocols"))
    pricing_models = TermChoiceField(Term.Kind.PRICING, label=_("Pricing models"))
    components = ComponentChoiceField(
        queryset=Listing.objects.none(),
        required=False,
        label=_("Components it builds on"),
        help_text=_(
            "Open-source components published on Precis, or your own. "
            "Hold Ctrl (Cmd on a Mac) to pick several."
        ),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    repository_url = forms.URLField(
        label=_("Repository"),
        required=False,
        assume_scheme="https",
        help_text=_("Where the source code is, for example https://github.com/acme/driver."),
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = Listing
        fields = [
            "kind", "name", "tagline", "description", "deploy_minutes", "min_ram_mb",
            "cpu_cores", "works_offline", "edge_hardware", "license", "repository_url", "website",
        ]  # fmt: skip
        labels = {
            "kind": _("Kind"),
            "name": _("Name"),
            "tagline": _("Tagline"),
            "description": _("Description"),
            "deploy_minutes": _("Minutes to deploy"),
            "min_ram_mb": _("Minimum RAM (MB)"),
            "cpu_cores": _("CPU cores"),
            "works_offline": _("Works offline"),
            "edge_hardware": _("Edge hardware"),
            "license": _("Licence (SPDX)"),
        }
        help_texts = {
            "tagline": _("One sentence a plant manager understands, shown under the name."),
            "deploy_minutes": _("From download to first result, on a prepared machine."),
            "min_ram_mb": _("What it needs to run, not what it could use."),
            "cpu_cores": _("Cores it needs; 0.5 is half a core."),
            "works_offline": _("It keeps working without an internet connection."),
            "license": _(
                "Required for open-source components: an SPDX expression such as "
                "Apache-2.0 or MIT OR Apache-2.0."
            ),
        }
        error_messages = {
            "license": {"required": _("An open-source component needs an SPDX licence.")},
        }
        widgets = {
            "kind": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 12}),
            "cpu_cores": forms.NumberInput(attrs={"step": "0.1", "min": "0"}),
        }

    def __init__(self, *args, vendor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["description"].help_text = format_html(
            "<strong>{}</strong> {}",
            _("Needed before you submit for review."),
            markdown_help(),
        )
        self.fields["components"].queryset = component_choices(vendor, exclude=self.instance)
        # The model requires a licence of components; say so on the field rather than at the top.
        kind = self.data.get(self.add_prefix("kind")) if self.is_bound else self.instance.kind
        if kind == Listing.Kind.COMPONENT:
            self.fields["license"].required = True
        if self.instance.pk and not self.is_bound:
            terms = list(self.instance.terms.all())
            for name, kind in TERM_FIELDS.items():
                self.initial[name] = [term.pk for term in terms if term.kind == kind]
            self.initial["components"] = [c.pk for c in self.instance.components.all()]

    def disable(self) -> None:
        """Show the content read-only (a suspended or archived listing cannot change)."""
        for field in self.fields.values():
            field.disabled = True

    def listing_fields(self) -> dict:
        """What the services take as **fields: everything but the relations."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def terms(self) -> list[Term]:
        return [term for name in TERM_FIELDS for term in self.cleaned_data[name]]


class KpiClaimForm(forms.Form):
    """One measurable result; a row left empty is ignored, a half-filled one is an error."""

    label = forms.CharField(
        label=_("What was measured"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Defect escapes")}),
    )
    value = forms.CharField(
        label=_("Result"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. -38%")}),
    )
    evidence_url = forms.URLField(
        label=_("Evidence (link)"),
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def clean(self):
        data = super().clean()
        if any(data.get(name) for name in ("label", "value", "evidence_url")):
            if not data.get("label"):
                self.add_error("label", _("Say what was measured."))
            if not data.get("value"):
                self.add_error("value", _("Give the result."))
        return data

    def claim(self) -> KpiClaimInput | None:
        data = self.cleaned_data
        if not data.get("label"):
            return None
        return KpiClaimInput(
            label=data["label"], value=data["value"], evidence_url=data.get("evidence_url", "")
        )


KpiClaimFormSet = forms.formset_factory(
    KpiClaimForm,
    extra=MAX_KPI_CLAIMS,
    max_num=MAX_KPI_CLAIMS,
    absolute_max=MAX_KPI_CLAIMS,
    validate_max=True,
)


def kpi_claims_of(formset) -> list[KpiClaimInput]:
    return [claim for form in formset.forms if (claim := form.claim()) is not None]


class Sha256Field(forms.CharField):
    """A checksum as people paste it: surrounding spaces and upper-case hex are fine."""

    def to_python(self, value):
        return super().to_python(value).lower()


class VersionForm(forms.Form):
    version = forms.CharField(
        label=_("Version"),
        max_length=60,
        validators=[validate_semver],
        help_text=_("Semantic version, such as 1.4.2 or 2.0.0-rc.1."),
    )
    released_on = forms.DateField(
        label=_("Release date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Today if left empty."),
    )
    changelog = forms.CharField(
        label=_("Changelog"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown, as in the description: lists, **bold**, links and code."),
    )
    artifact_sha256 = Sha256Field(
        label=_("Artifact SHA-256"),
        max_length=80,
        required=False,
        validators=[validate_sha256],
        help_text=_("The output of sha256sum for the file buyers install: 64 hex digits."),
    )


class ImageUploadForm(forms.Form):
    """The file is only received here; catalog.services.image_add checks its content."""

    image = forms.FileField(
        label=_("Screenshot"),
        help_text=_("PNG, JPEG or WebP, up to 5 MB and 25 megapixels."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    caption = forms.CharField(label=_("Caption"), max_length=160, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The vendor reads this in an email and on their listing."),
    )

    def __init__(self, *args, label: str | None = None, help_text: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
        if help_text:
            self.fields["reason"].help_text = help_text


class RegistrationNumberField(forms.CharField):
    """A registration number as people type it: surrounding spaces and lower case are fine."""

    def to_python(self, value):
        return normalize_registration_number(super().to_python(value))


class VerificationRequestForm(forms.Form):
    """What a vendor gives Precis staff to check; accounts.services decides if it may ask."""

    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=200,
        help_text=_("As on the business licence or in the company register."),
    )
    registration_number = RegistrationNumberField(
        label=_("Business registration number"),
        validators=[validate_registration_number],
        help_text=_(
            "In China, the 18-character unified social credit code; elsewhere, the company "
            "register number."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
