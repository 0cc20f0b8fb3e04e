"""The telemetry contract: what a platform pushing events gets back, and what is stored."""

import json
from datetime import timedelta

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from billing.models import UsageEvent
from billing.services import installations
from billing.services import telemetry as telemetry_service
from tests.billing.conftest import event


def test_a_batch_is_stored_and_counted(push):
    response = push([event(1), event(2, value=3), event(3, metric="defects", value="2")])
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert UsageEvent.objects.count() == 3


def test_the_same_event_again_is_a_duplicate_and_other_content_is_refused(push):
    first = event(1, value="5")
    assert push([first]).json()["accepted"] == 1
    again = push([first, {**first, "value": "6"}, event(2)]).json()
    assert again["accepted"] == 1
    assert again["duplicates"] == 1
    assert again["rejected"] == [
        {"index": 1, "id": "evt-1", "error": "id appears earlier in this batch with other content"}
    ]
    clash = push([{**first, "value": "6"}]).json()
    assert clash["rejected"][0]["error"] == (
        "an event with this id was already stored with other content"
    )
    assert UsageEvent.objects.get(client_id="evt-1").value == 5


def test_equal_values_written_differently_are_the_same_content(push):
    first = event(1, value="5")
    push([first])
    assert push([{**first, "value": 5.0}]).json()["duplicates"] == 1
    assert push([{**first, "value": "5.000"}]).json()["duplicates"] == 1


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (
            {"metric": "steam"},
            "unknown metric 'steam'; this listing measures: defects, inspections, kwh",
        ),
        ({"value": "NaN"}, "value must be a finite number"),
        ({"value": "abc"}, "value 'abc' is not a decimal number"),
        ({"value": True}, "value must be a number or a decimal string"),
        ({"value": None}, "value must be a number or a decimal string"),
        ({"value": "-1"}, "value must not be negative"),
        ({"value": "0.0000000001"}, "value has more than 9 decimal places"),
        ({"timestamp": "2026-11-22"}, "timestamp must be an RFC 3339 date and time"),
        ({"timestamp": "2026-11-22T08:00:00"}, "timestamp needs a time zone offset"),
        ({"timestamp": "yesterday T"}, "timestamp 'yesterday T' is not an RFC 3339 date and time"),
        ({"id": ""}, "id must be a non-empty string"),
        ({"id": 7}, "id must be a non-empty string"),
        ({"id": "x" * 129}, "id is longer than 128 characters"),
        ({"properties": [1]}, "properties must be a JSON object"),
    ],
)
def test_a_bad_event_is_refused_with_a_reason_and_the_rest_stored(push, bad, error):
    response = push([event(1), {**event(2), **bad}, event(3)])
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert len(body["rejected"]) == 1
    assert body["rejected"][0]["index"] == 1
    assert body["rejected"][0]["error"].startswith(error)
    assert set(UsageEvent.objects.values_list("client_id", flat=True)) == {"evt-1", "evt-3"}


def test_infinity_and_nan_literals_are_refused_per_event(push):
    raw = (
        b'{"events": [{"id": "a", "metric": "inspections", "value": NaN, "timestamp": "%s"},'
        b' {"id": "b", "metric": "inspections", "value": Infinity, "timestamp": "%s"}]}'
    ) % ((timezone.now().isoformat().encode(),) * 2)
    body = push(None, raw=raw).json()
    assert [r["error"] for r in body["rejected"]] == [
        "value must be a finite number, not NaN",
        "value must be a finite number, not Infinity",
    ]


def test_events_too_old_or_in_the_future_are_refused(push):
    old = {**event(1), "timestamp": (timezone.now() - timedelta(days=36)).isoformat()}
    ahead = {**event(2), "timestamp": (timezone.now() + timedelta(minutes=6)).isoformat()}
    soon = {**event(3), "timestamp": (timezone.now() + timedelta(minutes=4)).isoformat()}
    body = push([old, ahead, soon]).json()
    assert [r["error"] for r in body["rejected"]] == [
        "timestamp is more than 35 days old",
        "timestamp is more than 5 minutes in the future",
    ]
    assert body["accepted"] == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "The body is not valid JSON"),
        (b'{"events": {"id": 1}}', 'The body must be a JSON object with an "events" list.'),
        (b"[]", 'The body must be a JSON object with an "events" list.'),
        (b"\xff\xfe", "The body is not valid JSON"),
    ],
)
def test_a_malformed_body_is_refused_whole(push, raw, message):
    response = push(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)
    assert UsageEvent.objects.count() == 0


def test_more_than_1000_events_are_refused_whole(push):
    response = push([event(n) for n in range(1001)])
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "too_many_events",
        "message": "A batch holds at most 1000 events; this one has 1001.",
    }
    assert UsageEvent.objects.count() == 0


def test_a_body_over_1_mb_is_refused_whole(push):
    padding = {"note": "x" * (1024 * 1024)}
    response = push([event(1, properties=padding)])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_large"
    assert UsageEvent.objects.count() == 0


def test_exactly_1000_events_are_accepted(push):
    assert push([event(n) for n in range(1000)]).json()["accepted"] == 1000


@pytest.mark.parametrize(
    "header",
    ["", "Token abc", "Bearer ", "Bearer prc_nosuchke_secret", "Bearer not-a-key"],
)
def test_a_missing_or_wrong_key_gets_401(client, issued, header):
    response = client.post(
        "/api/v1/telemetry/events",
        json.dumps({"events": [event(1)]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert UsageEvent.objects.count() == 0


def test_a_key_with_the_right_prefix_but_wrong_secret_gets_401(push, issued):
    forged = issued.key[:-4] + "AAAA"
    assert push([event(1)], key=forged).status_code == 401


def test_a_revoked_or_rotated_key_gets_401(push, issued, buyer_owner):
    rotated = installations.installation_key_rotate(
        actor=buyer_owner, installation=issued.installation
    )
    assert push([event(1)]).status_code == 401
    assert push([event(1)], key=rotated.key).status_code == 202
    installations.installation_key_revoke(actor=buyer_owner, key=rotated.record)
    assert push([event(2)], key=rotated.key).status_code == 401


def test_events_of_an_expired_subscription_are_stored_and_flagged(push, subscription):
    subscription.status = "expired"
    subscription.save()
    assert push([event(1)]).json()["accepted"] == 1
    assert UsageEvent.objects.get().flagged is True


def test_events_of_an_invoiced_period_are_stored_as_late(push, subscription):
    subscription.closed_through = timezone.now() - timedelta(minutes=5)
    subscription.save()
    push([event(1, minutes_ago=10), event(2, minutes_ago=1)])
    late = dict(UsageEvent.objects.values_list("client_id", "late"))
    assert late == {"evt-1": True, "evt-2": False}


def test_a_failure_before_commit_stores_nothing_and_a_retry_stores_once(push, monkeypatch, client):
    batch = [event(n) for n in range(50)]

    def fail(key, now):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(telemetry_service, "_touch", fail)
    client.raise_request_exception = False
    assert push(batch).status_code == 500
    assert UsageEvent.objects.count() == 0
    monkeypatch.undo()
    assert push(batch).json() == {"accepted": 50, "duplicates": 0, "rejected": []}
    assert push(batch).json() == {"accepted": 0, "duplicates": 50, "rejected": []}
    assert UsageEvent.objects.count() == 50


def test_decimal_properties_are_stored_exactly_as_sent(push):
    raw = (
        b'{"events": [{"id": "a", "metric": "inspections", "value": 1, "timestamp": "%s",'
        b' "properties": {"temp": 21.123456789012345678, "line": "L3", "zones": [0.5, 2]}}]}'
    ) % timezone.now().isoformat().encode()
    assert push(None, raw=raw).json()["accepted"] == 1
    stored = UsageEvent.objects.values_list("properties", flat=True).get()
    assert stored["line"] == "L3"
    assert stored["zones"][1] == 2
    # As text, nothing was lost on the way (a float would keep about 17 digits).

    text = (
        UsageEvent.objects.annotate(t=Cast("properties", TextField()))
        .values_list("t", flat=True)
        .get()
    )
    assert "21.123456789012345678" in text


def test_same_decimal_properties_are_the_same_content(push):
    at = timezone.now().isoformat()
    body = (
        f'{{"events": [{{"id": "a", "metric": "inspections", "value": 1, "timestamp": "{at}",'
        ' "properties": {"b": 0.25, "a": "x"}}]}'
    )
    assert push(None, raw=body.encode()).json()["accepted"] == 1
    reordered = body.replace('{"b": 0.25, "a": "x"}', '{"a": "x", "b": 0.25}')
    assert push(None, raw=reordered.encode()).json()["duplicates"] == 1
