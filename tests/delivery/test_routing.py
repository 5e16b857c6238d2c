"""Routing rules as data, group expansion through the directory, revoke/update/replace."""

from __future__ import annotations

import pytest

from interchange.delivery.outbox import Recipient
from interchange.delivery.routing import RoutingRule, route
from interchange.edxml.model import Bussiness, BussinessDocType
from interchange.errors import DeliveryError, UnknownOrganError
from interchange.organs import Directory, load_directory
from interchange.resources import data_dir

DEPT = "000.00.13.H53"  # Sở TT&TT Tây Ninh (department_of_ic)
PROVINCE = "000.00.00.H53"
INSPECTORATE = "000.00.02.G14"
DISTRICT = "000.00.31.H53"

RULES = (
    RoutingRule(
        name="conclusions to the Ministry Inspectorate",
        kind="conclusion",
        sender_kind="department_of_ic",
        add=("@inspectorate",),
    ),
    RoutingRule(
        name="district reports to the province",
        kind="report",
        sender_kind="district",
        add=("@parent",),
    ),
    RoutingRule(
        name="department reports to the Inspectorate",
        kind="report",
        sender_kind="department_of_ic",
        add=("@inspectorate",),
    ),
)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory(data_dir() / "directory" / "demo.yaml")


def codes(recs: tuple[Recipient, ...]) -> list[str]:
    return [r.code for r in recs]


def test_conclusion_from_department_goes_to_inspectorate(directory: Directory) -> None:
    out = route(sender=DEPT, kind="conclusion", rules=RULES, directory=directory)
    assert codes(out) == [INSPECTORATE]


def test_conclusion_from_a_district_is_not_forwarded(directory: Directory) -> None:
    with pytest.raises(DeliveryError, match="no recipient"):
        route(sender=DISTRICT, kind="conclusion", rules=RULES, directory=directory)


def test_addressed_and_rule_recipients_are_merged_once(directory: Directory) -> None:
    out = route(
        sender=DEPT,
        kind="conclusion",
        recipients=[INSPECTORATE, DISTRICT, DEPT],
        rules=RULES,
        directory=directory,
    )
    assert codes(out) == [INSPECTORATE, DISTRICT]


def test_directive_targets_expand_to_every_district(directory: Directory) -> None:
    class Target:
        level = "districts"
        of = PROVINCE

    class Directive:
        recipients = ()
        targets = (Target(),)

    expected = [a.code for a in directory.districts_of(PROVINCE)]
    assert len(expected) >= 5
    out = route(
        sender=DEPT, kind="directive", payload=Directive(), rules=RULES, directory=directory
    )
    assert codes(out) == expected
    token = route(
        sender=DEPT, kind="directive", recipients=[f"districts-of:{PROVINCE}"], directory=directory
    )
    assert codes(token) == expected


def test_reports_go_to_the_parent(directory: Directory) -> None:
    assert codes(route(sender=DISTRICT, kind="report", rules=RULES, directory=directory)) == [
        PROVINCE
    ]
    assert codes(route(sender=DEPT, kind="report", rules=RULES, directory=directory)) == [
        INSPECTORATE
    ]


def test_old_code_resolved_with_substitution_recorded(directory: Directory) -> None:
    [rec] = route(sender=DEPT, kind="directive", recipients=["000.00.41.H41"], directory=directory)
    assert rec == Recipient("000.00.40.H41", substituted_from="000.00.41.H41")


def test_unknown_recipient_is_refused(directory: Directory) -> None:
    with pytest.raises(UnknownOrganError):
        route(sender=DEPT, kind="directive", recipients=["000.00.99.H99"], directory=directory)


@pytest.mark.parametrize(
    "doc_type", [BussinessDocType.REVOKE, BussinessDocType.UPDATE, BussinessDocType.REPLACE]
)
def test_revoke_update_replace_reach_the_original_recipients(
    directory: Directory, doc_type: BussinessDocType
) -> None:
    originals = {"orig-1": [DISTRICT, "000.00.32.H53"]}
    b = Bussiness(doc_type=doc_type, document_id="orig-1", reason="nhầm")
    out = route(
        sender=DEPT,
        kind="directive",
        bussiness=b,
        directory=directory,
        original_recipients=lambda d: originals.get(d, []),
    )
    assert codes(out) == [DISTRICT, "000.00.32.H53"]
    with pytest.raises(DeliveryError, match="no sent document"):
        route(
            sender=DEPT,
            kind="directive",
            directory=directory,
            bussiness=Bussiness(doc_type=doc_type, document_id="nope"),
            original_recipients=lambda d: originals.get(d, []),
        )


def test_rule_needs_a_target() -> None:
    with pytest.raises(ValueError):
        RoutingRule(kind="conclusion", add=())


def test_special_targets_need_a_directory() -> None:
    with pytest.raises(DeliveryError, match="directory"):
        route(sender=DEPT, kind="conclusion", rules=RULES[:1], directory=None)


def test_followup_goes_to_the_issuer_of_the_conclusion(directory: Directory) -> None:
    from interchange.payloads import load_payload

    from .test_node import EXAMPLES

    followup = load_payload("followup", EXAMPLES / "followup.yaml")
    issuer = followup.conclusion.issuer.code  # type: ignore[union-attr]
    out = route(sender=DISTRICT, kind="followup", payload=followup, directory=directory)
    assert codes(out) == [issuer]
