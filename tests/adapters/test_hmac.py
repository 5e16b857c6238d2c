"""The HMAC header scheme: SDK timestamp and hash forms, signing and checking."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from adapters.hmac import (
    ReplayCache,
    ReplayCacheFull,
    check_headers,
    format_timestamp,
    hash_file_matches,
    parse_timestamp,
    sdk_hash_file,
    sign_headers,
)
from interchange.errors import AuthenticationError

NOW = dt.datetime(2026, 11, 28, 13, 48, 15, 787_000, tzinfo=dt.UTC)
SECRETS = {"sys": "secret-1234"}


def test_timestamp_is_the_sdk_form_in_vietnam_time() -> None:
    assert format_timestamp(NOW) == "28112026T204815+0787"
    assert parse_timestamp("28112026T204815+0787") == NOW
    assert parse_timestamp("28112026T204815") == NOW.replace(microsecond=0)
    for bad in ("2026-11-28T20:48:15", "32112026T204815+0000", "", "01010001T000000+0000"):
        with pytest.raises(AuthenticationError):
            parse_timestamp(bad)


def test_sdk_hash_is_unpadded_and_both_forms_match() -> None:
    data = b"\x00" * 7  # a digest with bytes below 0x10
    digest = hashlib.sha256(data).digest()
    assert sdk_hash_file(data) == "".join(f"{b:x}" for b in digest)
    assert any(b < 16 for b in digest) and len(sdk_hash_file(data)) < 64
    assert hash_file_matches(sdk_hash_file(data), data)
    assert hash_file_matches(digest.hex().upper(), data)
    assert not hash_file_matches(sdk_hash_file(data + b"x"), data)


def check(
    headers: dict[str, str], now: dt.datetime = NOW, cache: ReplayCache | None = None
) -> object:
    return check_headers(
        headers, SECRETS.get, lambda: now, cache if cache is not None else ReplayCache()
    )


def test_sign_then_check_round_trip_case_free() -> None:
    h = sign_headers({"docId": "d1"}, "sys", "secret-1234", NOW)
    assert h["XroadVnpt-sign-header-key"] == "timestamp;systemid;docId;Content-Type"
    result = check({k.upper(): v for k, v in h.items()})
    assert result.systemid == "sys" and result.get("docid") == "d1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.update({"XroadVnpt-hash-header": "0" * 64}),
        lambda h: h.pop("XroadVnpt-docId"),
        lambda h: h.update({"XroadVnpt-docId": "d2"}),
        lambda h: h.update({"XroadVnpt-sign-header-key": "docId;Content-Type"}),
        lambda h: h.pop("XroadVnpt-sign-header"),
    ],
)
def test_tampering_refused(mutate: object) -> None:
    h = sign_headers({"docId": "d1"}, "sys", "secret-1234", NOW)
    mutate(h)  # type: ignore[operator]
    with pytest.raises(AuthenticationError):
        check(h)


def test_unknown_system_stale_and_replay() -> None:
    with pytest.raises(AuthenticationError):
        check(sign_headers({}, "nobody", "secret-1234", NOW))
    h = sign_headers({}, "sys", "secret-1234", NOW)
    with pytest.raises(AuthenticationError, match="stale"):
        check(h, NOW + dt.timedelta(minutes=6))
    check(h, NOW - dt.timedelta(minutes=4))  # skew either way
    cache = ReplayCache()
    check(h, cache=cache)
    with pytest.raises(AuthenticationError, match="replay"):
        check(h, cache=cache)


def test_replay_cache_is_bounded_and_never_forgets_a_fresh_signature() -> None:
    cache = ReplayCache(max_entries=3)
    fresh = NOW + dt.timedelta(minutes=5)
    for key in ("a", "b", "c"):
        assert not cache.seen_or_add(key, fresh, NOW)
    with pytest.raises(ReplayCacheFull):  # room only by forgetting a fresh one: refused
        cache.seen_or_add("d", fresh, NOW)
    assert all(cache.seen_or_add(key, fresh, NOW) for key in ("a", "b", "c"))
    later = NOW + dt.timedelta(minutes=6)  # all three expired: room again
    assert not cache.seen_or_add("d", later + dt.timedelta(minutes=5), later)
    assert len(cache) == 1


def test_gson_escaped_json_and_extra_signed_headers() -> None:
    """Gson writes ``=`` as ``\\u003d``; the SDK also signs client-side keys like filePath."""
    import hashlib as _h
    import hmac as _hm

    stamp = format_timestamp(NOW)
    sign = (
        '{"XroadVnpt-filePath":"C:/x\\u003dy","XroadVnpt-systemid":"sys",'
        f'"XroadVnpt-timestamp":"{stamp}","XroadVnpt-Content-Type":"application/json"}}'
    )
    headers = {
        "XroadVnpt-filePath": "C:/x=y",
        "XroadVnpt-systemid": "sys",
        "XroadVnpt-timestamp": stamp,
        "XroadVnpt-Content-Type": "application/json",
        "XroadVnpt-sign-header-key": "filePath;systemid;timestamp;Content-Type",
        "XroadVnpt-sign-header": sign,
        "XroadVnpt-hash-header": _hm.new(b"secret-1234", sign.encode(), _h.sha256).hexdigest(),
    }
    result = check(headers)
    assert result.get("filepath") == "C:/x=y"  # type: ignore[attr-defined]
