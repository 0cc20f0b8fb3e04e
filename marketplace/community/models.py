"""The community side of open-source components: maintainers, SBOMs, proposed changes, their
discussion, abuse reports, and the moderation history of all of it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Listing, ListingVersion


class Maintainer(models.Model):
    """A person who looks after a component: may add versions and upload their SBOMs.

    The author of an accepted proposal for a new component becomes its first maintainer; staff
    add others in the admin.
    """

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="maintainers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="maintained"
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "user"], name="one_maintainer_row"),
        ]

    def __str__(self) -> str:
        return f"{self.user} maintains {self.listing}"


def _sbom_path(instance: "Sbom", filename: str) -> str:
    return f"sboms/{instance.version.listing_id}/{filename}"


class Sbom(models.Model):
    """The software bill of materials of one component version, as uploaded and as understood.

    The parsed summary (packages with their version and licence, and the licence counts) is
    stored so that pages never parse the upload again; the raw file is kept for download.
    """

    class Format(models.TextChoices):
        CYCLONEDX = "cyclonedx", "CycloneDX"
        SPDX = "spdx", "SPDX"

    version = models.OneToOneField(ListingVersion, on_delete=models.CASCADE, related_name="sbom")
    document = models.FileField(upload_to=_sbom_path)
    format = models.CharField(max_length=16, choices=Format.choices)
    spec_version = models.CharField(max_length=16)
    sha256 = models.CharField(max_length=64)
    # {"packages": [{"name", "version", "license", "purl"}], "licenses": [[licence, count]]}
    summary = models.JSONField(default=dict)
    package_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"SBOM of {self.version}"


class Contribution(models.Model):
    """A change request: a proposed new component, or proposed new values for an existing one.

    `proposed` holds the new values by field name; `original` the values the component had when
    the proposal was made, so that the diff stays readable after the component changes.
    """

    class Kind(models.TextChoices):
        NEW = "new", _("New component")
        EDIT = "edit", _("Edit")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")  # waiting for a moderator; anyone signed in may comment
        ACCEPTED = "accepted", _("Accepted")  # applied to the component; its author is credited
        REJECTED = "rejected", _("Rejected")  # refused with a reason; nothing changed
        HIDDEN = "hidden", _("Hidden")  # removed by a moderator after an abuse report
        WITHDRAWN = "withdrawn", _("Withdrawn")  # taken back by its author before a decision

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    # Empty for a new component until it is accepted; then the component it created.
    listing = models.ForeignKey(
        Listing, on_delete=models.CASCADE, null=True, blank=True, related_name="contributions"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contributions"
    )
    summary = models.TextField(_("why this change"), max_length=4000, help_text=_("Markdown."))
    proposed = models.JSONField(default=dict)
    original = models.JSONField(default=dict)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["author", "-created_at"], name="contribution_author_recent"),
            models.Index(fields=["status", "created_at"], name="contribution_status_age"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def title(self) -> str:
        """The component's name: the one it edits (as named now; a proposed new name shows in
        the diff), or the one it proposes. Lists load `listing` with the contribution."""
        if self.listing_id and self.kind == self.Kind.EDIT:
            return self.listing.name
        return str(self.proposed.get("name", ""))


class Comment(models.Model):
    """A message in the discussion of a contribution."""

    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_comments"
    )
    body = models.TextField(_("comment"), max_length=4000, help_text=_("Markdown."))
    hidden = models.BooleanField(default=False)  # removed by a moderator after a report
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["author", "-created_at"], name="comment_author_recent")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.contribution_id}"


class AbuseReport(models.Model):
    """Someone flagged a contribution or a comment (spam, abuse); it waits in the moderators'
    queue until one of them hides the content or dismisses the report."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")  # waiting for a moderator
        UPHELD = "upheld", _("Content hidden")  # the moderator hid what was reported
        DISMISSED = "dismissed", _("Dismissed")  # the moderator found nothing wrong

    contribution = models.ForeignKey(Contribution, on_delete=models.CASCADE, related_name="reports")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(_("what is wrong"), max_length=1000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Report {self.pk} on contribution {self.contribution_id}"


class AppendOnlyError(Exception):
    pass


class CommunityEvent(models.Model):
    """One step in a contribution's life (proposed, accepted, rejected, reported, hidden...).

    Append-only: rows are written by the services and never changed or deleted, so the
    moderation history can be trusted.
    """

    class Action(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        REPORTED = "reported", _("Reported")
        HIDDEN = "hidden", _("Hidden after a report")
        DISMISSED = "dismissed", _("Report dismissed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    contribution = models.ForeignKey(Contribution, on_delete=models.CASCADE, related_name="events")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.contribution_id}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Community events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Community events are never deleted.")
