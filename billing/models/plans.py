"""What a vendor charges for a listing: metrics, plans and their versions, charges and tiers."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from billing.money import amount_field, currency_field, quantity_field


class Metric(models.Model):
    """Something a listing measures and may charge for, pushed by the buyer's platform.

    Usage metrics count what was used (inspections run, kWh metered); outcome metrics count
    what was achieved (defects caught, kWh saved) and are verified by the buyer before billing.
    """

    class Kind(models.TextChoices):
        USAGE = "usage", _("Usage")
        OUTCOME = "outcome", _("Outcome")

    class Aggregation(models.TextChoices):
        SUM = "sum", _("Sum")
        COUNT = "count", _("Count of events")
        MAX = "max", _("Maximum")
        UNIQUE = "unique", _("Count of unique values")
        LATEST = "latest", _("Latest value")

    class Mode(models.TextChoices):
        # Each event carries the amount since the previous one.
        DELTA = "delta", _("Each event is an amount")
        # Each event carries a running total (an energy meter's kWh register); usage is the
        # increase, and a total lower than the one before means the counter restarted at zero.
        CUMULATIVE = "cumulative", _("Each event is a running total")

    listing = models.ForeignKey("catalog.Listing", on_delete=models.CASCADE, related_name="metrics")
    code = models.SlugField(
        _("code"), max_length=64, help_text=_("As sent in telemetry, e.g. inspections or kwh.")
    )
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=32, help_text=_("e.g. kWh, parts, hours."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.USAGE)
    aggregation = models.CharField(
        _("aggregation"), max_length=16, choices=Aggregation.choices, default=Aggregation.SUM
    )
    mode = models.CharField(_("values"), max_length=16, choices=Mode.choices, default=Mode.DELTA)
    unique_property = models.CharField(
        _("unique by property"),
        max_length=64,
        blank=True,
        help_text=_("For a count of unique values: the event property to count (blank: value)."),
    )

    class Meta:
        ordering = ["listing", "code"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "code"], name="metric_code_per_listing"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.unit})"


class Plan(models.Model):
    """A way to buy a listing as its vendor offers it; its terms live in PlanVersion rows.

    A private plan is offered to one buyer organization only (a negotiated price).
    """

    listing = models.ForeignKey("catalog.Listing", on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    private_for = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="private_plans",
        verbose_name=_("private for"),
    )
    # Published plans are offered on the listing page (private ones only to their buyer).
    is_published = models.BooleanField(_("offered"), default=False)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["listing", "position", "pk"]

    def __str__(self) -> str:
        return self.name


class PlanVersion(models.Model):
    """The terms of a plan at one time.

    Frozen once anyone has subscribed to it: a change then makes a new version, and existing
    subscribers keep theirs (billing.services.plans.plan_version_edit decides).
    """

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    currency = currency_field()
    trial_days = models.PositiveSmallIntegerField(_("trial days"), null=True, blank=True)
    trial_allowance = quantity_field(_("trial usage allowance"), null=True, blank=True)
    trial_allowance_metric = models.ForeignKey(
        Metric,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("allowance metric"),
    )
    trial_requires_card = models.BooleanField(_("card needed for the trial"), default=False)
    recurring_amount = amount_field(_("recurring fee"), null=True, blank=True)
    recurring_interval = models.CharField(
        _("billed"), max_length=8, choices=Interval.choices, default=Interval.MONTH
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment due after (days)"),
        default=0,
        help_text=_("0: due on issue. 30: the buyer pays within 30 days of the invoice."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number"),
            models.CheckConstraint(
                condition=Q(trial_allowance__isnull=True) | Q(trial_allowance_metric__isnull=False),
                name="trial_allowance_has_metric",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"

    @property
    def has_trial(self) -> bool:
        return bool(self.trial_days) or self.trial_allowance is not None

    # Rating reads a version's charges for every subscription a close invoices, where each
    # related manager costs more than the arithmetic (9 µs): they are listed once per instance,
    # which is safe as a version is frozen once subscribed to.
    @cached_property
    def metered_charge_list(self) -> list["MeteredCharge"]:
        return list(self.metered_charges.all())

    @cached_property
    def outcome_charge_list(self) -> list["OutcomeCharge"]:
        return list(self.outcome_charges.all())


class MeteredCharge(models.Model):
    """A usage metric charged in arrears, priced by one of four models.

    - per unit: quantity beyond the included units times the unit price;
    - graduated: each tier prices the units that fall within it;
    - volume: the tier the whole quantity reaches prices every unit;
    - package: a price per started package of `package_size` units.
    """

    class Model(models.TextChoices):
        PER_UNIT = "per_unit", _("Per unit")
        GRADUATED = "graduated", _("Graduated tiers")
        VOLUME = "volume", _("Volume tiers")
        PACKAGE = "package", _("Per package")

    version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="metered_charges"
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    model = models.CharField(
        _("pricing model"), max_length=16, choices=Model.choices, default=Model.PER_UNIT
    )
    unit_price = amount_field(_("unit price"), null=True, blank=True)
    package_size = quantity_field(_("package size"), null=True, blank=True)
    package_price = amount_field(_("package price"), null=True, blank=True)
    included_units = quantity_field(_("included units"), default=0)

    class Meta:
        ordering = ["version", "pk"]

    def __str__(self) -> str:
        return f"{self.metric} ({self.get_model_display()})"

    @cached_property
    def tier_list(self) -> list["PriceTier"]:
        """The tiers, listed once per instance (see PlanVersion.metered_charge_list)."""
        return list(self.tiers.all())


class PriceTier(models.Model):
    """One tier of a graduated or volume charge: units up to `up_to` (None: no upper bound)."""

    charge = models.ForeignKey(MeteredCharge, on_delete=models.CASCADE, related_name="tiers")
    up_to = quantity_field(_("up to"), null=True, blank=True)
    unit_price = amount_field(_("unit price"))
    flat_amount = amount_field(_("flat fee"), default=0)

    class Meta:
        ordering = ["charge", models.F("up_to").asc(nulls_last=True)]

    def __str__(self) -> str:
        return f"up to {self.up_to}: {self.unit_price}"


class OutcomeCharge(models.Model):
    """An outcome metric charged after the buyer verified it.

    Either a price per outcome (each defect caught), or a share of savings against the
    subscription's agreed baseline (20% of the kWh saved times the tariff); floor and cap bound
    the charge per period.
    """

    class Method(models.TextChoices):
        PER_OUTCOME = "per_outcome", _("Price per outcome")
        SAVINGS_SHARE = "savings_share", _("Share of savings")

    version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="outcome_charges"
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(
        _("method"), max_length=16, choices=Method.choices, default=Method.PER_OUTCOME
    )
    unit_price = amount_field(_("price per outcome"), null=True, blank=True)
    share_percent = models.DecimalField(
        _("share of savings (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    tariff = amount_field(_("value of one unit saved"), null=True, blank=True)
    floor = amount_field(_("floor per period"), null=True, blank=True)
    cap = amount_field(_("cap per period"), null=True, blank=True)
    verification_window_days = models.PositiveSmallIntegerField(_("days to verify"), default=7)

    class Meta:
        ordering = ["version", "pk"]

    def __str__(self) -> str:
        return f"{self.metric} ({self.get_method_display()})"
