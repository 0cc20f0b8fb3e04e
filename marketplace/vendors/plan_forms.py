"""Forms of a listing's pricing: metrics, and the plan editor.

They parse what a vendor types into the values billing.services.plans takes (a PlanTerms for a
plan); the service decides what is allowed and says why not. The forms only check what parsing
needs (numbers are numbers, a row that is filled in says what it charges for) and that the last
tier is the open one, which the service refuses too but without saying which row to change.

Rows work without JavaScript: the editor shows the charges and tiers a plan has plus a few
empty rows, an empty row is left out, and a charge is removed with its "Remove" box.
"""

from decimal import Decimal

from django import forms
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from billing.models import MeteredCharge, Metric, OutcomeCharge, Plan, PlanVersion
from billing.money import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    CURRENCY_CHOICES,
    DEFAULT_CURRENCY,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
)
from billing.services.plans import MeteredTerms, OutcomeTerms, PlanTerms, TierTerms
from marketplace.accounts.models import Organization

# Empty tier rows under a tiered charge: enough for a typical "up to / up to / above".
MIN_TIER_ROWS = 3
SPARE_TIER_ROWS = 2
TIERED = (MeteredCharge.Model.GRADUATED, MeteredCharge.Model.VOLUME)
NUMBER_ATTRS = {"step": "any", "min": "0", "inputmode": "decimal"}
WHOLE_ATTRS = {"min": "0", "inputmode": "numeric"}


def amount_input(label, **kwargs) -> forms.DecimalField:
    """A money amount, optional: its currency is the plan's (the template shows it)."""
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        widget=forms.NumberInput(attrs=NUMBER_ATTRS),
        **kwargs,
    )


def quantity_input(label, **kwargs) -> forms.DecimalField:
    """A number of a metric's units, optional."""
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        widget=forms.NumberInput(attrs=NUMBER_ATTRS),
        **kwargs,
    )


def plain(value: Decimal | None) -> Decimal | None:
    """A stored decimal as a person types it: 499.000000 becomes 499."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def _explained_label(label, explanation) -> str:
    return format_html(
        '<span class="choice-text">{}<span class="choice-note">{}</span></span>', label, explanation
    )


# Lazy, so that the label is built in the language of each request, not at import.
_lazy_explained_label = lazy(_explained_label, SafeString)


def explained(choices, explanations: dict[str, str]) -> list[tuple[str, str]]:
    """Radio choices whose label carries a one-line explanation under it."""
    return [(value, _lazy_explained_label(label, explanations[value])) for value, label in choices]


def metric_choices(metrics: list[Metric], *, blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(m.code, f"{m.name} ({m.unit})") for m in metrics]


class RowFormSet(forms.BaseFormSet):
    """Rows that a vendor may leave empty: each row decides in clean() whether it is empty.

    Every row is validated, prefilled or not, so that a row whose values were cleared is seen
    as empty rather than skipped as "unchanged".
    """

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "empty_permitted": False}

    def filled_forms(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if not form.cleaned_data.get("DELETE") and not form.cleaned_data.get("blank")
        ]


# --- Metrics ------------------------------------------------------------------------------


class MetricForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"),
        max_length=64,
        help_text=_(
            "What your software sends in each telemetry event, such as inspections or kwh: "
            "lower-case letters, digits, hyphens and underscores."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("What buyers read on invoices and usage pages, such as Inspections."),
    )
    unit = forms.CharField(label=_("Unit"), max_length=32, help_text=_("e.g. kWh, parts, hours."))
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=explained(
            Metric.Kind.choices,
            {
                Metric.Kind.USAGE: _("What was used: inspections run, kWh metered."),
                Metric.Kind.OUTCOME: _(
                    "What was achieved: defects caught, kWh saved. Buyers verify outcomes "
                    "before they are billed."
                ),
            },
        ),
        initial=Metric.Kind.USAGE,
        widget=forms.RadioSelect,
    )
    aggregation = forms.ChoiceField(
        label=_("Aggregation"),
        choices=Metric.Aggregation.choices,
        initial=Metric.Aggregation.SUM,
        help_text=_(
            "How a period's events become one quantity: their sum, how many there were, the "
            "highest value, how many distinct values, or the last value."
        ),
    )
    mode = forms.ChoiceField(
        label=_("Values"),
        choices=explained(
            Metric.Mode.choices,
            {
                Metric.Mode.DELTA: _(
                    "Each event says how much since the previous one: 12 inspections."
                ),
                Metric.Mode.CUMULATIVE: _(
                    "Each event reads a counter, like an energy meter's kWh register: usage is "
                    "the increase, and a lower reading means the counter restarted at zero."
                ),
            },
        ),
        initial=Metric.Mode.DELTA,
        widget=forms.RadioSelect,
    )
    unique_property = forms.CharField(
        label=_("Unique by property"),
        max_length=64,
        required=False,
        help_text=_(
            "For a count of unique values: the event property to count, such as "
            "machine_id. Leave empty to count distinct values."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )


# --- Plans --------------------------------------------------------------------------------


class PlanForm(forms.Form):
    """A plan's own fields and the terms of its version that are not charges."""

    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Standard")}),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=300,
        required=False,
        help_text=_("One or two sentences on who the plan is for."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    private_for = forms.CharField(
        label=_("Private for a buyer"),
        max_length=60,
        required=False,
        help_text=_(
            "For a negotiated price: the buyer organization's short name, as in its Precis "
            "addresses (e.g. huaxin). Only that buyer sees the plan. Leave empty to offer it "
            "to every buyer."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    currency = forms.ChoiceField(
        label=_("Currency"), choices=CURRENCY_CHOICES, initial=DEFAULT_CURRENCY
    )
    trial_days = forms.IntegerField(
        label=_("Trial days"),
        required=False,
        help_text=_("From 1 to 365 days free. Leave empty for no trial by time."),
        widget=forms.NumberInput(attrs={**WHOLE_ATTRS, "min": "1", "max": "365"}),
    )
    trial_allowance = quantity_input(
        _("Trial usage allowance"),
        help_text=_("Free usage during the trial; the trial ends when it is used up."),
    )
    trial_allowance_metric = forms.ChoiceField(label=_("Allowance metric"), required=False)
    trial_requires_card = forms.BooleanField(
        label=_("A card is needed to start the trial"),
        required=False,
        help_text=_("Leave it unticked to let buyers try first and pay later."),
    )
    recurring_amount = amount_input(
        _("Recurring fee"),
        help_text=_("Billed in advance at the start of each period. Leave empty for none."),
    )
    recurring_interval = forms.ChoiceField(
        label=_("Billed"),
        choices=PlanVersion.Interval.choices,
        initial=PlanVersion.Interval.MONTH,
        widget=forms.RadioSelect,
    )
    payment_terms_days = forms.IntegerField(
        label=_("Payment due after (days)"),
        required=False,
        initial=0,
        help_text=_("0: due when the invoice is issued. 30: the buyer has 30 days to pay."),
        widget=forms.NumberInput(attrs={**WHOLE_ATTRS, "max": "120"}),
    )

    def __init__(self, *args, metrics: list[Metric], plan: Plan | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trial_allowance_metric"].choices = metric_choices(
            metrics, blank=_("Choose a metric")
        )

    def clean_private_for(self) -> Organization | None:
        slug = self.cleaned_data["private_for"].strip().lower()
        if not slug:
            return None
        buyer = Organization.objects.filter(slug=slug, is_buyer=True).first()
        if buyer is None:
            raise forms.ValidationError(
                _("No buyer organization on Precis is called %(slug)s."), params={"slug": slug}
            )
        return buyer


class TierForm(forms.Form):
    up_to = quantity_input(_("Up to"))
    unit_price = amount_input(_("Unit price"))
    flat_amount = amount_input(_("Flat fee"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["up_to"].widget.attrs["placeholder"] = _("No limit")

    def clean(self):
        data = super().clean()
        data["blank"] = not self.errors and all(data.get(name) is None for name in self.fields)
        if not data["blank"] and data.get("unit_price") is None and "unit_price" not in self.errors:
            self.add_error("unit_price", _("Give this tier's unit price (0 for free)."))
        return data

    def terms(self) -> TierTerms:
        data = self.cleaned_data
        return TierTerms(
            up_to=data["up_to"],
            unit_price=data["unit_price"],
            flat_amount=data["flat_amount"] or Decimal(0),
        )


TierFormSet = forms.formset_factory(TierForm, formset=RowFormSet, extra=MIN_TIER_ROWS)


class MeteredChargeForm(forms.Form):
    """A usage metric's charge, with its tiers as a small formset of its own."""

    metric = forms.ChoiceField(label=_("Metric"), required=False)
    model = forms.ChoiceField(
        label=_("Pricing model"),
        choices=MeteredCharge.Model.choices,
        initial=MeteredCharge.Model.PER_UNIT,
    )
    unit_price = amount_input(_("Unit price"))
    included_units = quantity_input(
        _("Included units"), help_text=_("Free each period before the charge starts.")
    )
    package_size = quantity_input(_("Package size"), help_text=_("Units in one package."))
    package_price = amount_input(_("Package price"))

    def __init__(self, *args, metrics: list[Metric], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = metric_choices(metrics, blank=_("Choose a usage metric"))
        tiers = self.initial.get("tiers") or []
        self.tiers = TierFormSet(
            self.data if self.is_bound else None,
            prefix=self.add_prefix("tier"),
            initial=tiers,
        )
        self.tiers.extra = max(MIN_TIER_ROWS - len(tiers), SPARE_TIER_ROWS)

    def clean(self):
        data = super().clean()
        tiered = data.get("model") in TIERED
        tiers_valid = self.tiers.is_valid()
        last = self.tiers.filled_forms()[-1:] if tiered and tiers_valid else []
        if last and last[0].cleaned_data["up_to"] is not None:
            # The service refuses it too; here the vendor sees which row to change.
            last[0].add_error("up_to", _("Leave “up to” empty on the last tier."))
            tiers_valid = False
        tier_rows = tiered and any(not t.cleaned_data.get("blank") for t in self.tiers.forms)
        values = ("unit_price", "included_units", "package_size", "package_price")
        data["blank"] = (
            not data.get("metric")
            and not self.errors
            and all(data.get(name) is None for name in values)
            and not tier_rows
        )
        if data["blank"] or data.get("DELETE"):
            return data
        if not data.get("metric") and "metric" not in self.errors:
            self.add_error("metric", _("Choose the metric this charge counts, or clear the row."))
        if tiered and not tiers_valid:
            self.add_error(None, _("Check the tiers of this charge."))
        return data

    def terms(self) -> MeteredTerms:
        data = self.cleaned_data
        model = data["model"]
        return MeteredTerms(
            metric=data["metric"],
            model=model,
            unit_price=data["unit_price"] if model == MeteredCharge.Model.PER_UNIT else None,
            package_size=data["package_size"] if model == MeteredCharge.Model.PACKAGE else None,
            package_price=data["package_price"] if model == MeteredCharge.Model.PACKAGE else None,
            included_units=data["included_units"] or Decimal(0),
            tiers=tuple(t.terms() for t in self.tiers.filled_forms()) if model in TIERED else (),
        )


class OutcomeChargeForm(forms.Form):
    metric = forms.ChoiceField(label=_("Metric"), required=False)
    method = forms.ChoiceField(
        label=_("Charged as"),
        choices=OutcomeCharge.Method.choices,
        initial=OutcomeCharge.Method.PER_OUTCOME,
    )
    unit_price = amount_input(_("Price per outcome"))
    share_percent = forms.DecimalField(
        label=_("Share of savings (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={**NUMBER_ATTRS, "max": "100"}),
    )
    tariff = amount_input(
        _("Value of one unit saved"),
        help_text=_("What one unit saved is worth to the buyer, such as the price of a kWh."),
    )
    floor = amount_input(_("Floor per period"), help_text=_("The least charged in a period."))
    cap = amount_input(_("Cap per period"), help_text=_("The most charged in a period."))
    verification_window_days = forms.IntegerField(
        label=_("Days to verify"),
        required=False,
        initial=7,
        help_text=_("Buyers accept or dispute each outcome within this many days (1 to 60)."),
        widget=forms.NumberInput(attrs={**WHOLE_ATTRS, "min": "1", "max": "60"}),
    )

    def __init__(self, *args, metrics: list[Metric], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = metric_choices(metrics, blank=_("Choose an outcome metric"))

    def clean(self):
        data = super().clean()
        values = ("unit_price", "share_percent", "tariff", "floor", "cap")
        data["blank"] = (
            not data.get("metric")
            and not self.errors
            and all(data.get(name) is None for name in values)
        )
        if data["blank"] or data.get("DELETE"):
            return data
        if not data.get("metric") and "metric" not in self.errors:
            self.add_error("metric", _("Choose the metric this charge counts, or clear the row."))
        return data

    def terms(self) -> OutcomeTerms:
        data = self.cleaned_data
        method = data["method"]
        per_outcome = method == OutcomeCharge.Method.PER_OUTCOME
        window = {}
        if data["verification_window_days"] is not None:  # empty: the service's default
            window["verification_window_days"] = data["verification_window_days"]
        return OutcomeTerms(
            metric=data["metric"],
            method=method,
            unit_price=data["unit_price"] if per_outcome else None,
            share_percent=None if per_outcome else data["share_percent"],
            tariff=None if per_outcome else data["tariff"],
            floor=data["floor"],
            cap=data["cap"],
            **window,
        )


MeteredChargeFormSet = forms.formset_factory(
    MeteredChargeForm, formset=RowFormSet, extra=1, can_delete=True
)
OutcomeChargeFormSet = forms.formset_factory(
    OutcomeChargeForm, formset=RowFormSet, extra=1, can_delete=True
)


def _version_initial(version: PlanVersion) -> tuple[dict, list[dict], list[dict]]:
    """The editor's initial values from a plan version: plan fields, metered, outcomes."""
    plan = {
        "currency": version.currency,
        "trial_days": version.trial_days,
        "trial_allowance": plain(version.trial_allowance),
        "trial_allowance_metric": (
            version.trial_allowance_metric.code if version.trial_allowance_metric else ""
        ),
        "trial_requires_card": version.trial_requires_card,
        "recurring_amount": plain(version.recurring_amount),
        "recurring_interval": version.recurring_interval,
        "payment_terms_days": version.payment_terms_days,
    }
    metered = [
        {
            "metric": charge.metric.code,
            "model": charge.model,
            "unit_price": plain(charge.unit_price),
            "included_units": plain(charge.included_units) or None,
            "package_size": plain(charge.package_size),
            "package_price": plain(charge.package_price),
            "tiers": [
                {
                    "up_to": plain(tier.up_to),
                    "unit_price": plain(tier.unit_price),
                    "flat_amount": plain(tier.flat_amount) or None,
                }
                for tier in charge.tiers.all()
            ],
        }
        for charge in version.metered_charges.all()
    ]
    outcomes = [
        {
            "metric": charge.metric.code,
            "method": charge.method,
            "unit_price": plain(charge.unit_price),
            "share_percent": plain(charge.share_percent),
            "tariff": plain(charge.tariff),
            "floor": plain(charge.floor),
            "cap": plain(charge.cap),
            "verification_window_days": charge.verification_window_days,
        }
        for charge in version.outcome_charges.all()
    ]
    return plan, metered, outcomes


class PlanEditor:
    """The plan form and its two formsets of charges, validated and read as one."""

    def __init__(
        self,
        data=None,
        *,
        metrics: list[Metric],
        plan: Plan | None = None,
        version: PlanVersion | None = None,
    ):
        initial, metered, outcomes = ({}, [], [])
        if version is not None:
            initial, metered, outcomes = _version_initial(version)
        if plan is not None:
            initial.update(
                name=plan.name,
                description=plan.description,
                private_for=plan.private_for.slug if plan.private_for else "",
            )
        self.usage_metrics = [m for m in metrics if m.kind == Metric.Kind.USAGE]
        self.outcome_metrics = [m for m in metrics if m.kind == Metric.Kind.OUTCOME]
        self.form = PlanForm(data, metrics=metrics, plan=plan, initial=initial)
        self.metered = MeteredChargeFormSet(
            data,
            prefix="metered",
            initial=metered,
            form_kwargs={"metrics": self.usage_metrics},
        )
        self.outcomes = OutcomeChargeFormSet(
            data,
            prefix="outcome",
            initial=outcomes,
            form_kwargs={"metrics": self.outcome_metrics},
        )
        # A listing without metrics of a kind shows no rows for its charges.
        if not self.usage_metrics:
            self.metered.extra = 0
        if not self.outcome_metrics:
            self.outcomes.extra = 0

    @property
    def currency(self) -> str:
        return self.form["currency"].value() or DEFAULT_CURRENCY

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), self.metered.is_valid(), self.outcomes.is_valid()])

    @property
    def has_errors(self) -> bool:
        formsets = (self.metered, self.outcomes)
        return bool(self.form.errors) or any(f.total_error_count() for f in formsets)

    def add_error(self, message: str) -> None:
        self.form.add_error(None, message)

    def plan_fields(self) -> dict:
        data = self.form.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "private_for": data["private_for"],
        }

    def terms(self) -> PlanTerms:
        data = self.form.cleaned_data
        return PlanTerms(
            currency=data["currency"],
            trial_days=data["trial_days"],
            trial_allowance=data["trial_allowance"],
            trial_allowance_metric=data["trial_allowance_metric"],
            trial_requires_card=data["trial_requires_card"],
            recurring_amount=data["recurring_amount"],
            recurring_interval=data["recurring_interval"],
            payment_terms_days=data["payment_terms_days"] or 0,  # empty: due on issue
            metered=tuple(form.terms() for form in self.metered.filled_forms()),
            outcomes=tuple(form.terms() for form in self.outcomes.filled_forms()),
        )
