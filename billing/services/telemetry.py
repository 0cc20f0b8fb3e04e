"""Telemetry ingestion: validate a batch, store every valid event exactly once, say what happened.

The contract (shared/DESIGN.md): up to 1,000 events per batch; the answer comes after the events
are committed; an id already stored with the same content is a duplicate, with other content a
rejection; valid events are stored even when others in the batch are rejected.

Validation is written by hand rather than with a DRF serializer: a batch is a thousand small
objects, and a serializer per event costs more than the whole rest of the request.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from typing import NamedTuple

import psycopg
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import InstallationKey, Metric, Subscription, UsageEvent
from billing.money import QUANTITY_DIGITS, QUANTITY_PLACES
from marketplace.errors import ServiceError

MAX_EVENTS = 1000
MAX_BODY_BYTES = 1024 * 1024
MAX_ID_LENGTH = 128
MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
KEY_TOUCH_INTERVAL = timedelta(minutes=1)
QUANTUM = Decimal(1).scaleb(-QUANTITY_PLACES)
MAX_VALUE = Decimal(10) ** (QUANTITY_DIGITS - QUANTITY_PLACES)


class BatchRejected(ServiceError):
    """The whole body is unusable (malformed, too big, too many events): nothing is stored."""

    status_code = 400


class _NonFinite:
    """What json.loads makes of NaN and Infinity: refused per event, not as a broken body."""

    def __init__(self, name: str):
        self.name = name


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)

    def reject(self, index: int, event_id, error: str) -> None:
        self.rejected.append(
            {"index": index, "id": event_id if isinstance(event_id, str) else None, "error": error}
        )


class _Row(NamedTuple):
    index: int
    client_id: str
    metric_id: int
    value: Decimal
    occurred_at: datetime
    properties_json: str
    content_hash: str


def parse_batch(body: bytes) -> list:
    """The list of events in a request body, or BatchRejected with a clear reason."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchRejected(
            _("The body is larger than %(limit)s bytes; send fewer events per batch.")
            % {"limit": MAX_BODY_BYTES},
            code="too_large",
        )
    try:
        document = json.loads(body, parse_float=Decimal, parse_constant=_NonFinite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchRejected(
            _("The body is not valid JSON: %(error)s") % {"error": exc}, code="malformed"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise BatchRejected(
            _('The body must be a JSON object with an "events" list.'), code="malformed"
        )
    events = document["events"]
    if len(events) > MAX_EVENTS:
        raise BatchRejected(
            _("A batch holds at most %(max)s events; this one has %(count)s.")
            % {"max": MAX_EVENTS, "count": len(events)},
            code="too_many_events",
        )
    return events


# Decimal arithmetic wide enough for the largest value with all its decimals.
_CONTEXT = Context(prec=QUANTITY_DIGITS + 10)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _value(raw) -> Decimal | str:
    """The event's value as a Decimal, or the reason it is refused."""
    if isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            return _("value %(value)r is not a decimal number") % {"value": raw[:40]}
    elif isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        value = Decimal(raw)
    elif isinstance(raw, _NonFinite):
        return _("value must be a finite number, not %(value)s") % {"value": raw.name}
    else:
        return _("value must be a number or a decimal string")
    if not value.is_finite():
        return _("value must be a finite number")
    if value < 0:
        return _("value must not be negative")
    if value >= MAX_VALUE:
        return _("value is too large")
    exact = value.quantize(QUANTUM, context=_CONTEXT)
    if exact != value:
        return _("value has more than %(places)s decimal places") % {"places": QUANTITY_PLACES}
    return exact


def _timestamp(raw, now: datetime) -> datetime | str:
    if not isinstance(raw, str) or len(raw) < 11 or raw[10] not in "Tt":
        return _("timestamp must be an RFC 3339 date and time, such as 2026-11-22T08:30:00Z")
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        return _("timestamp %(value)r is not an RFC 3339 date and time") % {"value": raw[:40]}
    if instant.tzinfo is None:
        return _("timestamp needs a time zone offset, such as Z or +08:00")
    if instant < now - MAX_AGE:
        return _("timestamp is more than %(days)s days old") % {"days": MAX_AGE.days}
    if instant > now + MAX_AHEAD:
        return _("timestamp is more than 5 minutes in the future")
    return instant


# One encoder for every event: json.dumps() with options builds a new one per call. It
# refuses Decimal (a number with a fraction, see parse_batch); those properties go through
# _properties_json, which writes the decimal exactly as sent, never through a float.
_PROPERTIES_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _properties_json(value) -> str:
    """Canonical JSON of properties (keys sorted, no spaces) keeping decimals exact."""
    if isinstance(value, dict):
        pairs = (
            f"{json.dumps(key)}:{_properties_json(item)}" for key, item in sorted(value.items())
        )
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_properties_json(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, _NonFinite):
        raise ValueError(value.name)
    return json.dumps(value)


def _content_hash(metric: str, value: Decimal, occurred_at: datetime, properties_json: str) -> str:
    instant = (occurred_at - _EPOCH) // _MICROSECOND  # whatever offset it was written with
    canonical = f"{metric}\x1f{value}\x1f{instant}\x1f{properties_json}"
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _validate(events: list, metrics: dict[str, Metric], now: datetime, result: IngestResult):
    rows: dict[str, _Row] = {}
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            result.reject(index, None, _("each event must be a JSON object"))
            continue
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id.strip():
            result.reject(index, event_id, _("id must be a non-empty string"))
            continue
        if len(event_id) > MAX_ID_LENGTH:
            result.reject(
                index, event_id, _("id is longer than %(max)s characters") % {"max": MAX_ID_LENGTH}
            )
            continue
        code = event.get("metric")
        metric = metrics.get(code) if isinstance(code, str) else None
        if metric is None:
            result.reject(
                index,
                event_id,
                _("unknown metric %(metric)r; this listing measures: %(known)s")
                % {"metric": code, "known": ", ".join(sorted(metrics)) or "-"},
            )
            continue
        value = _value(event.get("value"))
        if isinstance(value, str):
            result.reject(index, event_id, value)
            continue
        occurred_at = _timestamp(event.get("timestamp"), now)
        if isinstance(occurred_at, str):
            result.reject(index, event_id, occurred_at)
            continue
        properties = event.get("properties")
        if not properties:
            properties_json = "{}"
        elif not isinstance(properties, dict):
            result.reject(index, event_id, _("properties must be a JSON object"))
            continue
        else:
            try:
                properties_json = _PROPERTIES_ENCODER.encode(properties)
            except TypeError:  # a decimal number somewhere inside
                try:
                    properties_json = _properties_json(properties)
                except ValueError:
                    result.reject(index, event_id, _("properties must be plain JSON"))
                    continue
            except ValueError:
                result.reject(index, event_id, _("properties must be plain JSON"))
                continue
        row = _Row(
            index,
            event_id,
            metric.pk,
            value,
            occurred_at,
            properties_json,
            _content_hash(code, value, occurred_at, properties_json),
        )
        earlier = rows.get(event_id)
        if earlier is None:
            rows[event_id] = row
        elif earlier.content_hash == row.content_hash:
            result.duplicates += 1
        else:
            result.reject(index, event_id, _("id appears earlier in this batch with other content"))
    return list(rows.values())


def _insert(rows: list[_Row], key: InstallationKey, now: datetime) -> set[str]:
    """Insert the rows whose id is new; returns the ids inserted."""
    installation = key.installation
    subscription = installation.subscription
    flagged = not subscription.is_entitled
    table = UsageEvent._meta.db_table
    columns = (
        "installation_id, subscription_id, metric_id, client_id, value, occurred_at, "
        "received_at, properties, content_hash, flagged, late"
    )
    conflict = "ON CONFLICT (installation_id, client_id) DO NOTHING RETURNING client_id"
    if connection.vendor == "postgresql":
        # One statement for the whole batch: arrays in, unnest() to rows. The arrays go as
        # bound binary parameters (%b, psycopg's own cursor): Django's client-side binding
        # would quote every element into the SQL text, which cost more than the insert.
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            # `closed_through` is read under a key-share lock: period close locks the
            # subscription to update, so a batch either lands before the close rates the
            # period, or waits and is marked late against the new value.
            cursor.execute(
                f"WITH s AS (SELECT closed_through FROM {Subscription._meta.db_table} "  # noqa: S608
                "WHERE id = %s FOR KEY SHARE) "
                f"INSERT INTO {table} ({columns}) "
                "SELECT %s, %s, m, c, v, o, %s, p::jsonb, h, %s, "
                "COALESCE(o < s.closed_through, false) "
                "FROM s, unnest(%b::bigint[], %b::varchar[], %b::numeric[], %b::timestamptz[], "
                "%b::text[], %b::varchar[]) AS t(m, c, v, o, p, h) " + conflict,
                [
                    subscription.pk,
                    installation.pk,
                    subscription.pk,
                    now,
                    flagged,
                    [r.metric_id for r in rows],
                    [r.client_id for r in rows],
                    [r.value for r in rows],
                    [r.occurred_at for r in rows],
                    [r.properties_json for r in rows],
                    [r.content_hash for r in rows],
                ],
            )
            return {client_id for (client_id,) in cursor.fetchall()}
    # SQLite runs one writer at a time (transactions begin IMMEDIATE): read inside this one.
    closed = (
        Subscription.objects.filter(pk=subscription.pk)
        .values_list("closed_through", flat=True)
        .first()
    )
    with connection.cursor() as cursor:
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        params = []
        for r in rows:
            params += [
                installation.pk,
                subscription.pk,
                r.metric_id,
                r.client_id,
                connection.ops.adapt_decimalfield_value(r.value, QUANTITY_DIGITS, QUANTITY_PLACES),
                connection.ops.adapt_datetimefield_value(r.occurred_at),
                connection.ops.adapt_datetimefield_value(now),
                r.properties_json,
                r.content_hash,
                flagged,
                closed is not None and r.occurred_at < closed,
            ]
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {placeholders} {conflict}",  # noqa: S608
            params,
        )
        return {client_id for (client_id,) in cursor.fetchall()}


def _touch(key: InstallationKey, now: datetime) -> None:
    """Note when the key was last used, at most once a minute (not a write per batch)."""
    if key.last_used_at is None or now - key.last_used_at > KEY_TOUCH_INTERVAL:
        InstallationKey.objects.filter(pk=key.pk).update(last_used_at=now)


def usage_ingest_batch(
    *, key: InstallationKey, body: bytes, now: datetime | None = None
) -> IngestResult:
    """Store a batch of telemetry for the key's installation; see the module docstring."""
    now = now or timezone.now()
    events = parse_batch(body)
    subscription = key.installation.subscription
    listing_id = subscription.plan_version.plan.listing_id
    metrics = {m.code: m for m in Metric.objects.filter(listing_id=listing_id)}
    result = IngestResult()
    rows = _validate(events, metrics, now, result)
    if rows:
        with transaction.atomic():
            inserted = _insert(rows, key, now)
            clashes = [r for r in rows if r.client_id not in inserted]
            if clashes:
                stored = dict(
                    UsageEvent.objects.filter(
                        installation_id=key.installation_id,
                        client_id__in=[r.client_id for r in clashes],
                    ).values_list("client_id", "content_hash")
                )
                for r in clashes:
                    if stored.get(r.client_id) == r.content_hash:
                        result.duplicates += 1
                    else:
                        result.reject(
                            r.index,
                            r.client_id,
                            _("an event with this id was already stored with other content"),
                        )
            result.accepted = len(inserted)
            _touch(key, now)
    result.rejected.sort(key=lambda item: item["index"])
    return result
