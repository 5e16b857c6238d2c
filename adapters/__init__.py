"""Axis adapters: one protocol (``Axis``), one module per kind of axis.

- ``adapters.vxp``: the national axis REST API with HMAC-signed headers (httpx).
- ``adapters.soap``: a provincial SOAP bus, through zeep and our WSDL.
- ``adapters.memory``: in-process, for unit tests of delivery logic.

Adapters move bytes; they never parse a document.
"""

from .base import (
    AgencyInfo,
    Axis,
    PendingItem,
    SendReceipt,
)

__all__ = ["AgencyInfo", "Axis", "PendingItem", "SendReceipt"]
