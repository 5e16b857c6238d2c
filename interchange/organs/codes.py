"""Agency identifier codes (mã định danh, QCVN 102): the four-group form ``L4.L3.L2.L1``.

We only ever *produce* four-group codes, but real traffic also carries three-group codes
(``28.22.H17``), odd top bodies (``001.00.20.JB2``) and system ids (``vxp.saas.03``): those
are accepted on reading as opaque ids, never interpreted. The structure of a code is a hint
at best; the hierarchy is data (see ``directory.py``), so nothing here is used for routing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import OrganCodeError

# ASCII digits only: ``\d`` would also match other scripts' digits.
_FOUR_GROUP = re.compile(r"([0-9]{3})\.([0-9]{2})\.([0-9]{2})\.([A-Z][0-9]{2})")
# Opaque ids: the characters seen in real lists, nothing that could break a header or a path.
_OPAQUE = re.compile(r"[A-Za-z0-9._-]{1,64}")

CENTRAL_LETTER = "G"
PROVINCE_LETTER = "H"


@dataclass(frozen=True, slots=True, order=True)
class OrganCode:
    """A parsed four-group code. Levels are kept as written (zero-padded strings)."""

    l4: str
    l3: str
    l2: str
    l1: str

    def __str__(self) -> str:
        return f"{self.l4}.{self.l3}.{self.l2}.{self.l1}"

    @property
    def text(self) -> str:
        return str(self)

    @property
    def letter(self) -> str:
        """The L1 letter: ``G`` ministries and central bodies, ``H`` provinces."""
        return self.l1[0]

    @property
    def top(self) -> OrganCode:
        """The L1 body itself (``000.00.00.H53`` for any Tây Ninh code)."""
        return OrganCode("000", "00", "00", self.l1)

    @property
    def is_top(self) -> bool:
        return self.l4 == "000" and self.l3 == "00" and self.l2 == "00"

    @property
    def is_province(self) -> bool:
        return self.letter == PROVINCE_LETTER

    @property
    def is_central(self) -> bool:
        return self.letter == CENTRAL_LETTER

    @property
    def depth(self) -> int:
        """How many levels below L1 are used: 0 for the top body, 3 for an L4 unit."""
        return sum(1 for part in (self.l2, self.l3, self.l4) if int(part) != 0)

    def parent_candidate(self) -> OrganCode | None:
        """The code one level up *by shape*: a hint for humans, never used for routing.

        Real parents are what the directory says (merged and renamed agencies break the
        shape rule).
        """
        if int(self.l4):
            return OrganCode("000", self.l3, self.l2, self.l1)
        if int(self.l3):
            return OrganCode("000", "00", self.l2, self.l1)
        if int(self.l2):
            return self.top
        return None


def is_four_group(text: str) -> bool:
    """True for a well-formed four-group code (surrounding whitespace not allowed)."""
    return _FOUR_GROUP.fullmatch(text) is not None


def parse_code(text: str) -> OrganCode:
    """Parse a four-group code; ``OrganCodeError`` (one line) for anything else."""
    if not isinstance(text, str):
        raise OrganCodeError(f"agency code must be text, not {type(text).__name__}")
    match = _FOUR_GROUP.fullmatch(text.strip())
    if match is None:
        raise OrganCodeError(
            f"malformed agency code {_show(text)}: expected L4.L3.L2.L1 like 000.00.13.H53"
        )
    return OrganCode(*match.groups())


def normalise_organ_id(text: str) -> str:
    """Any agency id we accept on reading (four-group or legacy), stripped; else ``OrganCodeError``.

    Legacy ids are opaque: only their character set and length are checked.
    """
    if not isinstance(text, str):
        raise OrganCodeError(f"agency id must be text, not {type(text).__name__}")
    value = text.strip()
    if not value:
        raise OrganCodeError("empty agency id")
    if _OPAQUE.fullmatch(value) is None:
        raise OrganCodeError(f"agency id {_show(text)} has characters or a length we do not accept")
    return value


def check_organ_id(text: str, *, allow_legacy: bool = True) -> str:
    """Normalised id; with ``allow_legacy=False`` only a four-group code passes."""
    if allow_legacy:
        return normalise_organ_id(text)
    return str(parse_code(text))


def _show(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "...'"
