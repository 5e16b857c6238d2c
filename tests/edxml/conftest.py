"""A small, fully populated document and status message for edxml tests."""

from __future__ import annotations

import datetime as dt

import pytest

from interchange.edxml import (
    Attachment,
    Bussiness,
    BussinessDocType,
    DocumentCode,
    DocumentType,
    EdocMessage,
    MessageHeader,
    Organ,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
)


def make_edoc() -> EdocMessage:
    return EdocMessage(
        header=MessageHeader(
            from_=Organ("000.00.13.H53", organ_name="Thanh tra tỉnh Tây Ninh"),
            to=(Organ("000.00.02.G14", organ_name="Thanh tra Chính phủ"),),
            document_id="000.00.13.H53,2026/11/20,12/KL-TTr",
            code=DocumentCode("12", "KL-TTr"),
            subject="Kết luận thanh tra việc quản lý đất đai",
            promulgation_info=PromulgationInfo("Tây Ninh", dt.date(2026, 11, 20)),
            document_type=DocumentType(1, 0, "Kết luận"),
            content="Nội dung & <tóm tắt>",
            signer_info=SignerInfo("KT. CHÁNH THANH TRA", "Phó Chánh Thanh tra", "Nguyễn Văn A"),
            due_date=dt.date(2026, 12, 31),
            other_info=OtherInfo(priority=0, direction=False, appendixes=("Phụ lục 1",)),
            response_for=(ResponseFor("000.00.02.G14", "5/TTCP", dt.date(2026, 1, 5), "x"),),
            steering_type=1,
            to_places=("Như trên", "Lưu: VT, TTr"),
        ),
        trace_headers=(TraceHeader("000.00.13.H53", dt.datetime(2026, 11, 20, 8, 30, 5)),),
        bussiness=Bussiness(
            BussinessDocType.NEW, reason="Văn bản mới", paper=0, staff_info=StaffInfo(staff="B")
        ),
        attachments=(
            Attachment(
                "3f2a9c1e-0000-4000-8000-000000000001",
                "ketluan.xml",
                "application/xml",
                b"<conclusion/>",
                "Kết luận (cấu trúc)",
            ),
            Attachment(
                "3f2a9c1e-0000-4000-8000-000000000002",
                "ketluan.pdf",
                "application/pdf",
                b"%PDF-1.7\n" + bytes(range(256)),
            ),
        ),
    )


def make_status() -> StatusMessage:
    return StatusMessage(
        from_=Organ("000.00.02.G14"),
        response_for=ResponseFor(
            "000.00.13.H53",
            "12/KL-TTr",
            dt.date(2026, 11, 20),
            "000.00.13.H53,2026/11/20,12/KL-TTr",
        ),
        status_code=StatusCode.ACCEPTED,
        description="Đã tiếp nhận, vào sổ",
        timestamp=dt.datetime(2026, 11, 21, 9, 0, 0),
        staff_info=StaffInfo(department="Văn thư"),
    )


@pytest.fixture
def edoc() -> EdocMessage:
    return make_edoc()


@pytest.fixture
def status() -> StatusMessage:
    return make_status()
