"""The reader: lenient where real senders are, a one-line typed refusal everywhere else."""

from __future__ import annotations

import pytest

from interchange.edxml import (
    EdocMessage,
    MessageKind,
    StatusMessage,
    build_edoc,
    build_status,
    message_kind,
    read_message,
    serialize,
)
from interchange.errors import (
    AttachmentError,
    FormatError,
    NotEdXMLError,
    NotXMLError,
    UnsafeXMLError,
)
from interchange.safexml import parse_root


def _refused(data: bytes, error: type[FormatError]) -> FormatError:
    with pytest.raises(FormatError) as info:
        read_message(data)
    assert type(info.value) is error, repr(info.value)
    assert "\n" not in str(info.value) and str(info.value)
    return info.value


def test_kind(edoc: EdocMessage, status: StatusMessage) -> None:
    assert message_kind(build_edoc(edoc)) is MessageKind.EDOC
    assert message_kind(build_status(status)) is MessageKind.STATUS


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"not xml at all", b"<edXML><unclosed></edXML>", b"\x00\x01\x02", "é".encode()],
)
def test_not_xml(data: bytes) -> None:
    _refused(data, NotXMLError)


def test_stray_bytes_before_declaration(edoc: EdocMessage) -> None:
    err = _refused(b"1212" + serialize(build_edoc(edoc)), NotXMLError)
    assert "4 stray byte(s)" in str(err)


@pytest.mark.parametrize(
    "data",
    [
        b"<edXML/>",  # no namespace
        b'<edXML xmlns="urn:other"/>',
        b'<x:Envelope xmlns:x="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>',
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>',  # no envelope
    ],
)
def test_not_edxml(data: bytes) -> None:
    _refused(data, NotEdXMLError)


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML>&x;</edXML>',
        b'<?xml version="1.0"?><!DOCTYPE edXML SYSTEM "http://example.invalid/x.dtd"><edXML/>',
        b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>',
    ],
)
def test_dtd_and_entities_refused(data: bytes) -> None:
    _refused(data, UnsafeXMLError)


def _replace(msg: EdocMessage | StatusMessage, old: bytes, new: bytes) -> bytes:
    root = build_status(msg) if isinstance(msg, StatusMessage) else build_edoc(msg)
    data = serialize(root)
    assert old in data, old
    return data.replace(old, new, 1)


def test_missing_from_organ_id(edoc: EdocMessage) -> None:
    data = _replace(edoc, b"<edXML:OrganId>000.00.13.H53</edXML:OrganId>", b"")
    assert "From/OrganId" in str(_refused(data, NotEdXMLError))


def test_empty_from_organ_id(status: StatusMessage) -> None:
    data = _replace(
        status, b"<edXML:OrganId>000.00.02.G14</edXML:OrganId>", b"<edXML:OrganId> </edXML:OrganId>"
    )
    assert "From/OrganId" in str(_refused(data, NotEdXMLError))


def test_edoc_without_recipient(edoc: EdocMessage) -> None:
    start = b"<edXML:To>"
    data = serialize(build_edoc(edoc))
    i = data.index(start)
    j = data.index(b"</edXML:To>") + len(b"</edXML:To>")
    assert "MessageHeader/To" in str(_refused(data[:i] + data[j:], NotEdXMLError))


def test_edoc_without_document_id(edoc: EdocMessage) -> None:
    data = _replace(edoc, f"<edXML:DocumentId>{edoc.document_id}</edXML:DocumentId>".encode(), b"")
    assert "DocumentId" in str(_refused(data, NotEdXMLError))


@pytest.mark.parametrize("code", [b"07", b"1", b"", b"xx"])
def test_unknown_or_empty_status_code(status: StatusMessage, code: bytes) -> None:
    data = _replace(
        status,
        b"<edXML:StatusCode>03</edXML:StatusCode>",
        b"<edXML:StatusCode>" + code + b"</edXML:StatusCode>",
    )
    assert "StatusCode" in str(_refused(data, NotEdXMLError))


def test_status_without_status_code_is_refused_naming_it(status: StatusMessage) -> None:
    data = _replace(status, b"<edXML:StatusCode>03</edXML:StatusCode>", b"")
    assert "StatusCode" in str(_refused(data, NotEdXMLError))


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (b"2026/12/31", b"31/12/2026", "MessageHeader/DueDate"),
        (
            b"2026/11/20</edXML:PromulgationDate>",
            b"2026/02/30</edXML:PromulgationDate>",
            "PromulgationInfo/PromulgationDate",
        ),
        (b"2026/11/20 08:30:05", b"2026/11/20 25:00:00", "TraceHeader/Timestamp"),
        (b"<edXML:SteeringType>1<", b"<edXML:SteeringType>one<", "MessageHeader/SteeringType"),
        (b"<edXML:Direction>false<", b"<edXML:Direction>maybe<", "OtherInfo/Direction"),
        (b"<edXML:BussinessDocType>0<", b"<edXML:BussinessDocType>7<", "BussinessDocType"),
    ],
)
def test_bad_values_name_the_element(edoc: EdocMessage, old: bytes, new: bytes, where: str) -> None:
    assert where in str(_refused(_replace(edoc, old, new), NotEdXMLError))


def test_empty_due_date_reads_as_none(edoc: EdocMessage) -> None:
    msg = read_message(_replace(edoc, b"2026/12/31", b""))
    assert isinstance(msg, EdocMessage) and msg.header.due_date is None


def test_bad_base64_names_the_attachment(edoc: EdocMessage) -> None:
    data = serialize(build_edoc(edoc))
    pdf = data.index(b"ketluan.pdf</AttachmentName>")
    encoded = data.index(b"<edXML:ContentTransferEncoded", pdf)
    start = data.index(b">", encoded) + 1
    data = data[:start] + b"${__StringFromFile(test.txt,,,)}" + data[data.index(b"<", start) :]
    err = _refused(data, AttachmentError)
    assert isinstance(err, AttachmentError)
    assert "ketluan.pdf" in str(err)
    assert err.content_id == edoc.attachments[1].content_id


def test_manifest_entry_without_attachment(edoc: EdocMessage) -> None:
    data = serialize(build_edoc(edoc))
    i = data.index(b"<Attachment>")
    j = data.index(b"</Attachment>") + len(b"</Attachment>")
    err = _refused(data[:i] + data[j:], AttachmentError)
    assert "ketluan.xml" in str(err)


def test_comment_inside_text_reads_full_text(edoc: EdocMessage) -> None:
    data = _replace(edoc, b"<edXML:CodeNotation>KL-TTr<", b"<edXML:CodeNotation>KL<!--x-->-TTr<")
    data = data.replace(b"<edXML:Subject>", b"<edXML:Subject><?pi x?>  ", 1)
    msg = read_message(data)
    assert isinstance(msg, EdocMessage)
    assert msg.header.code.notation == "KL-TTr"
    assert msg.header.subject == edoc.header.subject


LENIENT = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<q:edXML xmlns:q="http://www.mic.gov.vn/TBT/QCVN_102_2016">
 <q:edXMLEnvelope>
  <q:edXMLHeader>
   <Signature xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><SignedInfo/></Signature>
   <q:MessageHeader>
    <q:Subject>  Báo cáo <![CDATA[công tác]]> thanh tra  </q:Subject>
    <q:Code><q:CodeNotation>BC-TTr</q:CodeNotation><q:CodeNumber>7</q:CodeNumber></q:Code>
    <q:DocumentId>5e515fca-3627-4f2e-b517-7169acdc8bda</q:DocumentId>
    <q:To><q:OrganId>vxp.saas.03</q:OrganId></q:To>
    <q:From><q:Email>a@b</q:Email><q:OrganId>28.22.H17</q:OrganId></q:From>
    <q:To><q:OrganId>000.00.02.G14</q:OrganId></q:To>
    <q:Unknown>ignored</q:Unknown>
    <q:DueDate></q:DueDate>
   </q:MessageHeader>
  </q:edXMLHeader>
  <q:edXMLBody><q:edXMLManifest version="1.0">
   <q:Reference><q:ContentId>abc</q:ContentId><q:ContentType>text/plain</q:ContentType>
    <q:AttachmentName>a.txt</q:AttachmentName><q:Description>desc</q:Description></q:Reference>
  </q:edXMLManifest></q:edXMLBody>
 </q:edXMLEnvelope>
 <q:AttachmentEncoded><q:Attachment>
  <q:ContentTransferEncoded>
   aGVs
   bG8=
  </q:ContentTransferEncoded>
  <q:ContentId>CID:abc</q:ContentId>
 </q:Attachment></q:AttachmentEncoded>
</q:edXML>
""".encode()


def test_lenient_reading() -> None:
    msg = read_message(LENIENT)
    assert isinstance(msg, EdocMessage)
    h = msg.header
    assert h.subject == "Báo cáo công tác thanh tra"
    assert (h.code.number, h.code.notation) == ("7", "BC-TTr")
    assert msg.sender == "28.22.H17" and h.from_.email == "a@b"
    assert msg.recipients == ("vxp.saas.03", "000.00.02.G14")
    assert h.due_date is None
    assert msg.trace_headers == () and msg.bussiness is None
    (att,) = msg.attachments
    assert att.content_id == "abc" and att.data == b"hello"
    # name, type and description come from the manifest when the attachment lacks them
    assert (att.name, att.content_type, att.description) == ("a.txt", "text/plain", "desc")


def test_read_tree_on_parsed_root(edoc: EdocMessage) -> None:
    from interchange.edxml import read_tree

    assert read_tree(parse_root(serialize(build_edoc(edoc)))) == edoc
