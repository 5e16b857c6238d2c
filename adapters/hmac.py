"""The national axis's HMAC header scheme, once: signing for clients, checking for the hub.

What the operator's SDK 2.0.1 really sends (AXIS.md §1, confirmed against its decompiled
``VnptService``): every parameter ``k`` travels as header ``XroadVnpt-k``;
``XroadVnpt-sign-header-key`` lists the names *without* the prefix joined by ``;``;
``XroadVnpt-sign-header`` is a compact JSON object of the *prefixed* names (it includes
``XroadVnpt-Content-Type``); ``XroadVnpt-hash-header`` is hex HMAC-SHA256(secret, that JSON
as sent). The timestamp is ``ddMMyyyy'T'HHmmss+SSSS``: local wall-clock time with the
milliseconds after ``+`` (Java's ``SSSS`` pads them to four digits).

The checker trusts only the signed JSON: a handler reads its parameters from
``AuthResult.params``, never from raw headers, so an unsigned header cannot steer it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets as _secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from interchange.errors import AuthenticationError

PREFIX = "XroadVnpt-"
VERSION = "3.0.201608"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_SKEW = dt.timedelta(minutes=5)

H_SIGN_KEY = "XroadVnpt-sign-header-key"
H_SIGN = "XroadVnpt-sign-header"
H_HASH = "XroadVnpt-hash-header"
H_VERSION = "XroadVnpt-version"

_TS = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})(?:\+(\d{1,4}))?$")


@dataclass(frozen=True, slots=True)
class AuthResult:
    """An authenticated call: who, its signed parameters (unprefixed names as sent), when.

    Names keep their case: SDK 2.0.1 keeps one header map per service object, so after
    ``getEdoc`` (``docId``) and ``updateStatus`` (``docid``) both names travel, possibly
    with different values. ``get`` prefers the exact name, then any case.
    """

    systemid: str
    params: Mapping[str, str]
    timestamp: dt.datetime
    mac: str

    def get(self, name: str, default: str | None = None) -> str | None:
        return _ci_get(self.params, name, default)


def _ci_get(params: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    if name in params:
        return params[name]
    low = name.lower()
    for key, value in params.items():
        if key.lower() == low:
            return value
    return default


# --- timestamps ---------------------------------------------------------------------------


def format_timestamp(now: dt.datetime | None = None, tz: str = DEFAULT_TZ) -> str:
    """The SDK's form, in ``tz`` local time: ``28112026T204815+0787``."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    local = now.astimezone(ZoneInfo(tz))
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def parse_timestamp(value: str, tz: str = DEFAULT_TZ) -> dt.datetime:
    """An aware UTC datetime from the SDK's form read in ``tz``; ``AuthenticationError`` else."""
    match = _TS.match(value.strip())
    if match is None:
        raise AuthenticationError(f"timestamp {value[:40]!r} is not ddMMyyyyTHHmmss+SSSS")
    day, month, year, hour, minute, second, millis = match.groups()
    try:
        local = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(millis or 0) % 1000 * 1000,
            tzinfo=ZoneInfo(tz),
        )
        return local.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # Overflow: year 1 moved to UTC
        raise AuthenticationError(f"timestamp {value[:40]!r} is not a real date") from None


# --- hashes -------------------------------------------------------------------------------


def sdk_hash_file(data: bytes) -> str:
    """SHA-256 as the SDK writes it: each byte in hex *without* zero padding."""
    return "".join(format(b, "x") for b in hashlib.sha256(data).digest())


def hash_file_matches(header: str, data: bytes) -> bool:
    """True when ``header`` is the SHA-256 of ``data`` in the SDK's unpadded or plain hex form."""
    return hash_file_matches_digest(header, hashlib.sha256(data).digest())


def hash_file_matches_digest(header: str, digest: bytes) -> bool:
    """``hash_file_matches`` for a SHA-256 already computed (the hub stores by it too)."""
    value = header.strip().lower().encode("ascii", "replace")
    plain = digest.hex().encode()
    unpadded = "".join(format(b, "x") for b in digest).encode()
    return hmac.compare_digest(value, plain) | hmac.compare_digest(value, unpadded)


def mac_hex(secret: str, message: bytes) -> str:
    # the one-shot ``hmac.digest`` runs in OpenSSL without building an HMAC object: every
    # request is signed by a node and checked by the hub, nine per forwarded conclusion
    return hmac.digest(secret.encode("utf-8"), message, "sha256").hex()


# --- signing (client) ---------------------------------------------------------------------


def sign_headers(
    params: Mapping[str, str],
    systemid: str,
    secret: str,
    now: dt.datetime | None = None,
    *,
    tz: str = DEFAULT_TZ,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The HTTP headers of one call, exactly in the SDK 2.0.1 shape (plus ``Content-Type``)."""
    signed: dict[str, str] = {"timestamp": format_timestamp(now, tz), "systemid": systemid}
    for key, value in params.items():
        signed[key] = value
    signed.setdefault("Content-Type", content_type)
    body = {PREFIX + k: v for k, v in signed.items()}
    sign_json = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
    headers = {PREFIX + k: v for k, v in signed.items()}
    headers["Content-Type"] = signed["Content-Type"]
    headers[H_SIGN_KEY] = ";".join(signed)
    headers[H_SIGN] = sign_json
    headers[H_HASH] = mac_hex(secret, sign_json.encode("utf-8"))
    headers[H_VERSION] = VERSION
    return headers


def new_nonce() -> str:
    return _secrets.token_hex(12)


# --- checking (hub) -----------------------------------------------------------------------


class ReplayCacheFull(RuntimeError):
    """Every remembered signature is still fresh and there is no room for another.

    Security reasoning: forgetting a fresh signature would let it be replayed, so the
    request is refused instead, as an internal error (HTTP 500) that a client retries once
    older signatures expire. Only authenticated callers reach the cache.
    """


class ReplayCache:
    """Bounded in-memory set of signatures seen within the skew window (thread-safe).

    It only has to remember a signature for as long as its timestamp stays fresh; entries
    are dropped as they expire, never before (``ReplayCacheFull``). Keys are kept as 16-byte
    digests. It does not survive a restart: the hub also keeps each ``sendEdoc`` MAC in its
    database (unique), so a replayed send is refused even then; a replayed read after a
    restart only repeats an answer the eavesdropper already saw.
    """

    def __init__(self, max_entries: int = 600_000) -> None:
        self._seen: OrderedDict[bytes, dt.datetime] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def seen_or_add(self, key: str, expires: dt.datetime, now: dt.datetime) -> bool:
        """True when ``key`` was already seen (a replay); otherwise remember it."""
        digest = hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=16).digest()
        with self._lock:
            if digest in self._seen:
                return True
            while self._seen:
                oldest_key, oldest_exp = next(iter(self._seen.items()))
                if oldest_exp > now:
                    break
                del self._seen[oldest_key]
            if len(self._seen) >= self._max:
                raise ReplayCacheFull(f"{self._max} signatures are still fresh: retry later")
            self._seen[digest] = expires
            return False

    def __len__(self) -> int:
        return len(self._seen)


_PREFIX_LOW = PREFIX.lower()
_PREFIX_RAW = _PREFIX_LOW.encode("ascii")


def _received(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Every value of every ``XroadVnpt-*`` header by lower-case name (a name may come more
    than once). Only those are ever read: the others (host, lengths) are not decoded."""
    out: dict[str, list[str]] = {}
    raw = getattr(headers, "raw", None)  # starlette keeps repeated headers here
    if isinstance(raw, list):
        for key, value in raw:
            if key[: len(_PREFIX_RAW)].lower() == _PREFIX_RAW:
                out.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        return out
    for key, value in headers.items():
        out.setdefault(key.lower(), []).append(value)
    return out


def _unprefixed(name: str) -> str:
    name = name.strip()
    return name[len(PREFIX) :] if name[: len(PREFIX)].lower() == _PREFIX_LOW else name


def verify_signed_json(
    sign_header: str,
    mac: str,
    secrets_lookup: Callable[[str], str | None],
    clock: Callable[[], dt.datetime],
    replay_cache: ReplayCache | None,
    *,
    tz: str = DEFAULT_TZ,
    skew: dt.timedelta = DEFAULT_SKEW,
) -> tuple[str, dict[str, str], dt.datetime]:
    """Check one signed JSON object (REST headers or the SOAP Auth header).

    Returns (systemid, params by unprefixed name as sent, timestamp). The MAC is
    recomputed over the JSON exactly as received (its raw bytes), compared in constant
    time, then freshness and replay are checked; only then is the MAC remembered.
    """
    raw = sign_header.encode("latin-1", "replace")  # HTTP headers arrive latin-1 decoded
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AuthenticationError("XroadVnpt-sign-header is not a JSON object") from None
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise AuthenticationError("XroadVnpt-sign-header must map names to strings")
    params = {_unprefixed(k): v for k, v in obj.items()}
    systemid = _ci_get(params, "systemid") or ""
    timestamp = _ci_get(params, "timestamp") or ""
    if not systemid or not timestamp:
        raise AuthenticationError("systemid and timestamp must be signed")
    secret = secrets_lookup(systemid)
    expected = mac_hex(secret or "\x00unknown-system", raw)
    given = mac.strip().lower().encode("ascii", "replace")
    if not hmac.compare_digest(expected.encode(), given) or secret is None:
        raise AuthenticationError("bad HMAC: XroadVnpt-hash-header does not match")
    when = parse_timestamp(timestamp, tz)
    now = clock()
    if abs(now - when) > skew:
        raise AuthenticationError(f"stale timestamp {timestamp}: outside ±{skew} of hub time")
    if replay_cache is not None and replay_cache.seen_or_add(
        f"{systemid}\x00{expected}", when + skew, now
    ):
        raise AuthenticationError("replayed request: this signature was already used")
    return systemid, params, when


def check_headers(
    headers: Mapping[str, str],
    secrets_lookup: Callable[[str], str | None],
    clock: Callable[[], dt.datetime],
    replay_cache: ReplayCache | None,
    tz: str = DEFAULT_TZ,
    skew: dt.timedelta = DEFAULT_SKEW,
    scope: str = "",
) -> AuthResult:
    """Authenticate a REST call by its ``XroadVnpt-*`` headers (names compared case-free).

    Every name in ``XroadVnpt-sign-header-key`` (with or without the prefix) must be in the
    signed JSON and must have been received as a header with that same value. A MAC is
    remembered with ``scope`` (the operation, say): the same MAC in another scope is not a
    replay, because the SDK's signature does not cover the path or the body.
    """
    received = _received(headers)

    def one(name: str) -> str | None:
        values = received.get(name.lower())
        return values[0] if values else None

    sign_header, mac, key_list = one(H_SIGN), one(H_HASH), one(H_SIGN_KEY)
    if not sign_header or not mac or not key_list:
        raise AuthenticationError("missing XroadVnpt-sign-header, -hash-header or -sign-header-key")
    names = [_unprefixed(n) for n in key_list.split(";") if n.strip()]
    lowered = {n.lower() for n in names}
    if "systemid" not in lowered or "timestamp" not in lowered:
        raise AuthenticationError("systemid and timestamp must be listed in sign-header-key")
    # HMAC and freshness first: an attacker learns nothing from the header checks.
    systemid, params, when = verify_signed_json(
        sign_header, mac, secrets_lookup, clock, None, tz=tz, skew=skew
    )
    signed: dict[str, str] = {}
    for name in names:
        value = _ci_get(params, name)
        if value is None:
            raise AuthenticationError(f"sign-header-key names {name!r} but the JSON lacks it")
        copies = received.get((PREFIX + name).lower(), ())
        if len(copies) == 1:
            ok = hmac.compare_digest(
                copies[0].encode("latin-1", "replace"), value.encode("utf-8", "replace")
            )
        else:
            # Several copies of one (case-free) name: exactly the values signed under its
            # spellings (SDK 2.0.1 sends ``docid`` and ``docId`` once a map holds both), so
            # that no unsigned copy rides along where a proxy reading one copy would look.
            low = name.lower()
            ok = sorted(c.encode("latin-1", "replace") for c in copies) == sorted(
                v.encode("utf-8", "replace") for k, v in params.items() if k.lower() == low
            )
        if not ok:
            raise AuthenticationError(f"header XroadVnpt-{name} differs from the signed value")
        signed[name] = value
    expected = mac.strip().lower()
    if replay_cache is not None and replay_cache.seen_or_add(
        f"{systemid}\x00{scope}\x00{expected}", when + skew, clock()
    ):
        raise AuthenticationError("replayed request: this signature was already used")
    return AuthResult(systemid=systemid, params=signed, timestamp=when, mac=expected)
