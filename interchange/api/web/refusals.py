"""The dashboard's own refusals, one class each so that the page can say which in Vietnamese.

They stay ``Forbidden`` (403, code ``forbidden``, audited as before): only the sentence an
operator reads differs, chosen by class in ``i18n.error_texts``.
"""

from __future__ import annotations

from ..problems import Forbidden


class FormExpired(Forbidden):
    """The form's CSRF token or login nonce is missing or stale."""


class CrossSiteForm(Forbidden):
    """A form posted from another site (its Origin is not ours)."""


class OperatorRoleNeeded(Forbidden):
    """A viewer tried an action."""
