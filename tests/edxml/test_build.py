"""The builder writes the standard's exact shape; what it writes validates; errors say where."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from interchange.edxml import (
    DSIG_NS,
    EDXML_NS,
    EdocMessage,
    Organ,
    StatusMessage,
    build_edoc,
    build_status,
    explain,
    read_message,
    serialize,
    validate_envelope,
)
from interchange.errors import SchemaError
from interchange.resources import schemas_dir
from interchange.safexml import parse_bytes

E = "{" + EDXML_NS + "}"


def test_namespace_shape_and_order(edoc: EdocMessage) -> None:
    data = serialize(build_edoc(edoc))
    declaration = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    assert data.startswith(declaration + b'<edXML xmlns="' + EDXML_NS.encode() + b'">')
    assert b'<edXML:edXMLEnvelope xmlns:edXML="' + EDXML_NS.encode() + b'">' in data
    root = parse_bytes(data).getroot()
    assert root.tag == E + "edXML" and root.prefix is None
    envelope, encoded = list(root)
    assert envelope.prefix == "edXML" and envelope.tag == E + "edXMLEnvelope"
    assert encoded.tag == E + "AttachmentEncoded"  # child of the root, after the envelope
    header = envelope[0]
    assert [etree.QName(c).localname for c in header] == ["MessageHeader", "TraceHeaderList"]
    names = [etree.QName(c).localname for c in header[0]]
    assert names == [
        "From",
        "To",
        "DocumentId",
        "Code",
        "PromulgationInfo",
        "DocumentType",
        "Subject",
        "Content",
        "SignerInfo",
        "DueDate",
        "OtherInfo",
        "ResponseFor",
        "SteeringType",
        "ToPlaces",
    ]
    assert all(el.prefix == "edXML" for el in envelope.iter())


def test_wire_values(edoc: EdocMessage) -> None:
    data = serialize(build_edoc(edoc))
    assert b"<edXML:PromulgationDate>2026/11/20</edXML:PromulgationDate>" in data
    assert b"<edXML:Timestamp>2026/11/20 08:30:05</edXML:Timestamp>" in data
    assert b"<edXML:Direction>false</edXML:Direction>" in data
    assert "Nội dung &amp; &lt;tóm tắt&gt;".encode() in data
    cid = edoc.attachments[0].content_id
    assert data.count(f"cid:{cid}".encode()) == 2  # manifest Reference and Attachment
    root = parse_bytes(data).getroot()
    cte = root.find(f"{E}AttachmentEncoded/{E}Attachment/{E}ContentTransferEncoded")
    assert cte is not None and cte.prefix == "edXML"
    assert cte.text is not None and "\n" not in cte.text
    assert base64.b64decode(cte.text) == edoc.attachments[0].data


def test_status_shape(status: StatusMessage) -> None:
    root = build_status(status)
    header = root[0][0]
    assert len(root) == 1 and len(root[0]) == 1  # no body, no attachments
    assert [etree.QName(c).localname for c in header[0]] == [
        "From",
        "ResponseFor",
        "StaffInfo",
        "StatusCode",
        "Description",
        "Timestamp",
    ]
    validate_envelope(root)
    assert read_message(serialize(root)) == status


def test_built_documents_validate(edoc: EdocMessage, status: StatusMessage) -> None:
    validate_envelope(build_edoc(edoc))
    validate_envelope(build_status(status))
    validate_envelope(parse_bytes(serialize(build_edoc(edoc))).getroot())


def _append_signature(root: etree._Element) -> None:
    """A schema-shaped ds:Signature where the signer puts it (values are not a real signature)."""
    ds = "{" + DSIG_NS + "}"
    header = root[0][0]
    sig = etree.SubElement(header, ds + "Signature", nsmap={"ds": DSIG_NS})
    si = etree.SubElement(sig, ds + "SignedInfo")
    etree.SubElement(
        si, ds + "CanonicalizationMethod", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    etree.SubElement(
        si, ds + "SignatureMethod", Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    ref = etree.SubElement(si, ds + "Reference", URI="")
    tr = etree.SubElement(ref, ds + "Transforms")
    etree.SubElement(
        tr, ds + "Transform", Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    )
    etree.SubElement(tr, ds + "Transform", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    etree.SubElement(ref, ds + "DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(ref, ds + "DigestValue").text = base64.b64encode(b"d" * 32).decode()
    etree.SubElement(sig, ds + "SignatureValue").text = base64.b64encode(b"s" * 256).decode()
    x509 = etree.SubElement(etree.SubElement(sig, ds + "KeyInfo"), ds + "X509Data")
    etree.SubElement(x509, ds + "X509SubjectName").text = "CN=Test,UID=000.00.13.H53"
    etree.SubElement(x509, ds + "X509Certificate").text = base64.b64encode(b"c" * 600).decode()


def test_signature_as_last_header_child_validates(edoc: EdocMessage, status: StatusMessage) -> None:
    for root in (build_edoc(edoc), build_status(status)):
        _append_signature(root)
        validate_envelope(root)
        assert read_message(serialize(root)) in (edoc, status)  # reading ignores the signature


def test_signature_in_edxml_namespace_is_refused_by_schema(edoc: EdocMessage) -> None:
    root = build_edoc(edoc)
    etree.SubElement(root[0][0], E + "Signature")
    with pytest.raises(SchemaError):
        validate_envelope(root)


def test_schema_error_names_path_and_line(edoc: EdocMessage) -> None:
    data = (
        serialize(build_edoc(edoc))
        .replace(b"<edXML:Subject>", b"\n<edXML:Subject>")
        .replace(b"<edXML:Subject>", b"<edXML:Bogus/><edXML:Subject>")
    )
    root = parse_bytes(data).getroot()
    with pytest.raises(SchemaError) as info:
        validate_envelope(root)
    err = info.value
    assert err.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Bogus"
    assert err.line == 3
    assert "Bogus" in str(err) and "\n" not in str(err)


def test_schema_error_on_legacy_code_we_would_write(edoc: EdocMessage) -> None:
    legacy = EdocMessage(
        header=edoc.header.__class__(
            **{
                **{f: getattr(edoc.header, f) for f in edoc.header.__dataclass_fields__},
                "to": (Organ("28.22.H17"),),
            }
        )
    )
    with pytest.raises(SchemaError) as info:
        validate_envelope(build_edoc(legacy))
    assert info.value.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To/OrganId"


def test_schema_error_path_in_default_namespace_part(edoc: EdocMessage) -> None:
    root = build_edoc(edoc)
    cid = root.find(f"{E}AttachmentEncoded/{E}Attachment[2]/{E}ContentId")
    assert cid is not None
    cid.text = "no-prefix"
    with pytest.raises(SchemaError) as info:
        validate_envelope(root)
    assert info.value.path == "/edXML/AttachmentEncoded/Attachment[2]/ContentId"


def test_duplicate_recipient_and_missing_attachment_refused(edoc: EdocMessage) -> None:
    root = build_edoc(edoc)
    mh = root[0][0][0]
    mh.insert(2, etree.fromstring(etree.tostring(mh[1])))  # second To with the same OrganId
    with pytest.raises(SchemaError):
        validate_envelope(root)
    root = build_edoc(edoc)
    encoded = root[1]
    encoded.remove(encoded[0])  # manifest entry without its attachment
    with pytest.raises(SchemaError):
        validate_envelope(root)


def test_explain_lists_every_problem(edoc: EdocMessage) -> None:
    root = build_edoc(edoc)
    root[0][0][0][0][0].text = "bad"  # From/OrganId
    subject = root[0][0][0].find(E + "Subject")
    assert subject is not None
    subject.text = ""
    problems = explain(root)
    assert len(problems) >= 2
    assert any("From/OrganId" in p for p in problems)
    assert explain(build_edoc(edoc)) == []


def test_schema_files_have_no_dtd() -> None:
    for path in [
        *schemas_dir().joinpath("edxml").glob("*.xsd"),
        schemas_dir() / "xmldsig" / "xmldsig-core-schema.xsd",
    ]:
        data = path.read_bytes()
        assert b"<!DOCTYPE" not in data and b"<!ENTITY" not in data
        parse_bytes(data)  # our safe parser accepts it


def test_text_xml_cannot_carry_is_a_value_error(edoc: EdocMessage) -> None:
    bad = EdocMessage(
        header=edoc.header.__class__(
            **{
                **{f: getattr(edoc.header, f) for f in edoc.header.__dataclass_fields__},
                "subject": "bell\x07",
            }
        )
    )
    with pytest.raises(ValueError):
        build_edoc(bad)


def test_hop_appended_after_bussiness_still_validates(edoc: EdocMessage) -> None:
    root = build_edoc(edoc)
    trace_list = root[0][0][1]
    assert etree.QName(trace_list[-1]).localname == "Bussiness"
    hop = etree.SubElement(trace_list, E + "TraceHeader")
    etree.SubElement(hop, E + "OrganId").text = "000.00.00.G22"
    etree.SubElement(hop, E + "Timestamp").text = "2026/11/20 08:30:06"
    validate_envelope(root)
    msg = read_message(serialize(root))
    assert isinstance(msg, EdocMessage)
    assert [t.organ_id for t in msg.trace_headers] == ["000.00.13.H53", "000.00.00.G22"]
    etree.SubElement(trace_list, E + "Bussiness")  # but never a second Bussiness
    with pytest.raises(SchemaError):
        validate_envelope(root)
