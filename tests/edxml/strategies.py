"""Hypothesis strategies for the whole edXML model (reusable by other test packages).

``edoc_messages(strict=False)`` covers everything the model can hold that survives the wire:
text without characters XML cannot carry and without surrounding whitespace (the reader strips
it), naive timestamps without sub-seconds (the wire has neither). ``strict=True`` narrows to what
our writing schema accepts: four-group From/To codes, distinct recipients, non-empty required
text, ContentIds without whitespace.
"""

from __future__ import annotations

from hypothesis import strategies as st

from interchange.edxml import (
    Attachment,
    Bussiness,
    BussinessDocType,
    BussinessDocumentInfo,
    DocumentCode,
    DocumentType,
    EdocMessage,
    MessageHeader,
    Organ,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
)

VIETNAMESE = "ĐđƯưƠơĂăÂâÊêÔôạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"

# XML 1.0 Char minus what we exclude on purpose: controls other than TAB/LF (CR would come back
# as LF after a parse), surrogates, U+FFFE/U+FFFF.
_xml_char = st.one_of(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc"),
        exclude_characters="\ufffe\uffff",
    ),
    st.sampled_from(VIETNAMESE),
    st.sampled_from("\t\n &<>\"'/.,-"),
)


def texts(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    return st.text(_xml_char, min_size=min_size, max_size=max_size).filter(
        lambda s: s == s.strip() and len(s) >= min_size
    )


def opt(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


xs_ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)
dates = st.dates()
timestamps = st.datetimes().map(lambda d: d.replace(microsecond=0))
four_group = st.builds(
    lambda a, b, c, letter, d: f"{a:03d}.{b:02d}.{c:02d}.{letter}{d:02d}",
    st.integers(0, 999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(0, 99),
)


def organs(strict: bool) -> st.SearchStrategy[Organ]:
    return st.builds(
        Organ,
        organ_id=four_group if strict else texts(min_size=1),
        organization_in_charge=opt(texts()),
        organ_name=opt(texts()),
        organ_add=opt(texts()),
        email=opt(texts()),
        telephone=opt(texts()),
        fax=opt(texts()),
        website=opt(texts()),
    )


staff_infos = st.builds(
    StaffInfo,
    department=opt(texts()),
    staff=opt(texts()),
    email=opt(texts()),
    mobile=opt(texts()),
)
response_fors = st.builds(
    ResponseFor,
    organ_id=texts(),
    code=opt(texts()),
    promulgation_date=opt(dates),
    document_id=opt(texts()),
)


def headers(strict: bool) -> st.SearchStrategy[MessageHeader]:
    required = texts(min_size=1) if strict else texts()
    return st.builds(
        MessageHeader,
        from_=organs(strict),
        to=st.lists(organs(strict), min_size=1, max_size=3, unique_by=lambda o: o.organ_id).map(
            tuple
        ),
        document_id=texts(min_size=1),
        code=st.builds(DocumentCode, number=required, notation=required),
        subject=required,
        promulgation_info=st.builds(PromulgationInfo, place=opt(texts()), date=opt(dates)),
        document_type=st.builds(
            DocumentType, type=opt(xs_ints), type_detail=opt(xs_ints), type_name=opt(texts())
        ),
        content=opt(texts(max_size=200)),
        signer_info=opt(
            st.builds(
                SignerInfo,
                competence=opt(texts()),
                position=opt(texts()),
                full_name=opt(texts()),
            )
        ),
        due_date=opt(dates),
        other_info=opt(
            st.builds(
                OtherInfo,
                priority=opt(xs_ints),
                sphere_of_promulgation=opt(texts()),
                typer_notation=opt(texts()),
                promulgation_amount=opt(xs_ints),
                page_amount=opt(xs_ints),
                direction=opt(st.booleans()),
                appendixes=opt(st.lists(texts(), max_size=3).map(tuple)),
            )
        ),
        response_for=st.lists(response_fors, max_size=2).map(tuple),
        steering_type=opt(xs_ints),
        to_places=opt(st.lists(texts(), max_size=3).map(tuple)),
    )


bussinesses = st.builds(
    Bussiness,
    doc_type=st.sampled_from(BussinessDocType),
    document_id=opt(texts()),
    reason=opt(texts()),
    paper=opt(xs_ints),
    staff_info=opt(staff_infos),
    document_info=opt(
        st.builds(
            BussinessDocumentInfo,
            document_info=opt(texts()),
            document_receiver=opt(texts()),
            receivers=st.lists(
                st.builds(Receiver, organ_id=texts(), receiver_type=opt(xs_ints)), max_size=3
            ).map(tuple),
        )
    ),
    replacements=opt(
        st.lists(
            st.builds(
                ReplacementInfo,
                document_id=texts(),
                organ_ids=st.lists(texts(), max_size=3).map(tuple),
            ),
            max_size=2,
        ).map(tuple)
    ),
)


def attachments(strict: bool) -> st.SearchStrategy[tuple[Attachment, ...]]:
    cid = st.text("abcdef0123456789-", min_size=1, max_size=36) if strict else texts(max_size=40)
    one = st.builds(
        Attachment,
        content_id=cid,
        name=texts(),
        content_type=texts(min_size=1) if strict else texts(),
        data=st.binary(max_size=300),
        description=opt(texts()),
    )
    return st.lists(one, max_size=3, unique_by=lambda a: a.content_id).map(tuple)


def edoc_messages(strict: bool = False) -> st.SearchStrategy[EdocMessage]:
    return st.builds(
        EdocMessage,
        header=headers(strict),
        trace_headers=st.lists(
            st.builds(TraceHeader, organ_id=opt(texts()), timestamp=opt(timestamps)), max_size=3
        ).map(tuple),
        bussiness=opt(bussinesses),
        attachments=attachments(strict),
    )


def status_messages(strict: bool = False) -> st.SearchStrategy[StatusMessage]:
    return st.builds(
        StatusMessage,
        from_=organs(strict),
        response_for=response_fors,
        status_code=st.sampled_from(StatusCode),
        description=opt(texts(max_size=200)),
        timestamp=opt(timestamps),
        staff_info=opt(staff_infos),
    )
