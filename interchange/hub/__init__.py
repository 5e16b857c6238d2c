"""The embedded hub: plays the national axis (REST face) and a provincial bus (SOAP face).

Public surface::

    create_hub_app(config: HubConfig, *, engine=None) -> FastAPI
    HubConfig, SystemConfig, load_systems(path), parse_systems(data)
    HubService (the queue logic both faces share)

Decisions worth knowing:
- Tables ``hub_messages`` (bytes as signed + the hop: hub id, time) and ``hub_queue`` (one
  row per recipient agency; its id is the recipient's docId; ``substituted_from`` records an
  old code resolved through the directory), migration ``0002``.
- Replay: an in-memory, bounded cache remembers each MAC with its operation (and the body
  the SDK leaves unsigned, for ``registerAgency``) for the skew window: the same request
  twice is refused. The MAC of each accepted ``sendEdoc`` is also unique in
  ``hub_messages``, so a replayed send is refused even after a restart. A replayed *read*
  after a restart is accepted (it only repeats an answer the eavesdropper already saw).
- SDK 2.0.1 fixes its timestamp when a service object is constructed and keeps one growing
  header map per object, so consecutive calls on one object often carry the same MAC
  (``getEdoc(X)`` then ``updateStatus(X)``): that is why the replay key holds the
  operation (``service.replay_scope``). An object older than the skew window is stale
  (``--skew`` widens it), and the same call twice on one object is a replay: build a new
  service object per receive cycle.
- The REST operations are dispatched by ``HubApp`` itself (exact path and method), before
  FastAPI's middleware and router; their statements are built once (``_Statements``). A
  fan-out is thousands of tiny calls, and those layers cost as much as the work.
- ``registerAgency`` / ``deleteAgency`` (``agencies.py``, table ``hub_agencies``, migration
  ``0007``): a system describes its own systems-file agencies or registers children of
  them; registrations are listed, never routed to, and only their registrant deletes them.
- The SOAP face's WSDL names ``HubConfig.public_url`` (``hub serve --public-url``), built
  once at start, never the request's Host: a forged Host would otherwise make the hub serve,
  and a cache keep, a WSDL sending clients' documents elsewhere.
- Refusals are HTTP 200 with ``status: FAIL`` (the SDK's sender throws on other codes before
  reading the body); internal failures are HTTP 500, which clients retry.
"""

from __future__ import annotations

from .app import create_hub_app
from .config import HubConfig, SystemConfig, load_systems, parse_systems
from .service import HubService, prepare_database

__all__ = [
    "HubConfig",
    "HubService",
    "SystemConfig",
    "create_hub_app",
    "load_systems",
    "parse_systems",
    "prepare_database",
]
