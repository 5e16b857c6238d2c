"""Dashboard words in Vietnamese (default) and English (``?lang=en``, remembered in a cookie).

Also the sentences an operator reads when something fails (by error class) or succeeds (from
the action's structured result): the errors' own one-line messages are English and precise,
so the pages show them only as a smaller "technical detail" line under these sentences.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from ... import errors
from ...delivery.lifecycle import Action, IllegalTransitionError, State
from ...delivery.outbox import DuplicateDocumentError
from ...edxml.model import StatusCode
from ..problems import BadRequest, Unauthorized
from .refusals import CrossSiteForm, FormExpired, OperatorRoleNeeded

LANGS = ("vi", "en")
LANG_COOKIE = "ix_lang"

#: One text in each language, in the order of ``LANGS``.
Texts = tuple[str, str]

_WORDS: dict[str, tuple[str, str]] = {
    "app": ("Liên thông văn bản", "Document interchange"),
    "login": ("Đăng nhập", "Sign in"),
    "logout": ("Đăng xuất", "Sign out"),
    "token": ("Mã truy cập", "Access token"),
    "token_help": (
        "Mã do quản trị viên cấp (interchange users add).",
        "The token an administrator gave you (interchange users add).",
    ),
    "bad_token": ("Mã truy cập không đúng hoặc đã bị thu hồi.", "Unknown or revoked token."),
    "overview": ("Tổng quan", "Overview"),
    "sent": ("Văn bản đi", "Sent"),
    "inbox": ("Văn bản đến", "Inbox"),
    "tenant": ("Đơn vị", "Agency"),
    "overdue": ("Quá hạn", "Overdue"),
    "dead": ("Thất bại hẳn", "Dead letters"),
    "oldest": ("Chờ gửi lâu nhất từ", "Oldest undelivered since"),
    "total": ("Tổng", "Total"),
    "document": ("Văn bản", "Document"),
    "subject": ("Trích yếu", "Subject"),
    "code": ("Số, ký hiệu", "Number"),
    "kind": ("Loại", "Kind"),
    "due": ("Hạn trả lời", "Due"),
    "created": ("Ngày gửi", "Sent on"),
    "recipients": ("Nơi nhận", "Recipients"),
    "recipient": ("Nơi nhận", "Recipient"),
    "state": ("Trạng thái", "State"),
    "not_answered": ("Chưa trả lời", "Not answered"),
    "who_not_answered": ("Ai chưa trả lời?", "Who has not answered?"),
    "show_all": ("Hiện tất cả", "Show all"),
    "resend_late": ("Gửi lại cho đơn vị quá hạn", "Resend to the late ones"),
    "retry": ("Gửi lại ngay", "Retry now"),
    "resend": ("Gửi lại", "Resend"),
    "cancel": ("Hủy gửi", "Cancel"),
    "recall": ("Thu hồi (13)", "Recall (13)"),
    "reason": ("Lý do", "Reason"),
    "timeline": ("Diễn biến", "Timeline"),
    "hops": ("Các chặng", "Hops"),
    "signature": ("Chữ ký số", "Signature"),
    "certificate": ("Chứng thư số", "Certificate"),
    "subject_dn": ("Chủ thể", "Subject"),
    "issuer": ("Nơi cấp", "Issuer"),
    "valid_until": ("Hiệu lực đến", "Valid until"),
    "days_left": ("Còn (ngày)", "Days left"),
    "algorithm": ("Thuật toán", "Algorithm"),
    "unsigned": ("Không có chữ ký", "Not signed"),
    "error": ("Lỗi", "Error"),
    "attempts": ("Số lần gửi", "Attempts"),
    "sender": ("Nơi gửi", "Sender"),
    "received": ("Nhận lúc", "Received"),
    "accept": ("Tiếp nhận (03)", "Accept (03)"),
    "refuse": ("Từ chối (02)", "Refuse (02)"),
    "assign": ("Phân công (04)", "Assign (04)"),
    "assign_to": ("Giao cho", "Assign to"),
    "in_progress_btn": ("Đang xử lý (05)", "In progress (05)"),
    "completed_btn": ("Hoàn thành (06)", "Completed (06)"),
    "recall_agree": ("Đồng ý thu hồi (15)", "Agree to recall (15)"),
    "recall_refuse": ("Không đồng ý thu hồi (16)", "Refuse recall (16)"),
    "verification": ("Kết quả kiểm tra", "Verification"),
    "valid": ("Hợp lệ", "Valid"),
    "invalid": ("Không hợp lệ", "Invalid"),
    "structured": ("Nội dung có cấu trúc", "Structured part"),
    "attachments": ("Tệp đính kèm", "Attachments"),
    "answers": ("Trạng thái đã gửi đi", "Status messages sent"),
    "none": ("Không có", "None"),
    "filter": ("Lọc", "Filter"),
    "search": ("Tìm", "Search"),
    "next": ("Trang sau", "Next page"),
    "refreshes": ("Tự làm mới mỗi {n} giây", "Refreshes every {n} s"),
    "done": ("Đã thực hiện", "Done"),
    "forbidden": ("Bạn không có quyền này.", "You are not allowed to do this."),
    "not_found": ("Không tìm thấy.", "Not found."),
    "role": ("Vai trò", "Role"),
    "steps": ("Các bước", "Steps"),
    "last_error": ("Lỗi gần nhất", "Last error"),
    "language": ("English", "Tiếng Việt"),
    "queued": ("Chờ gửi", "Queued"),
    "retrying": ("Đang thử lại", "Retrying"),
    "failed": ("Lỗi gửi", "Failed"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "arrived": ("Đã đến (01)", "Arrived (01)"),
    "refused": ("Từ chối (02)", "Refused (02)"),
    "accepted": ("Đã tiếp nhận (03)", "Accepted (03)"),
    "assigned": ("Đã phân công (04)", "Assigned (04)"),
    "in_progress": ("Đang xử lý (05)", "In progress (05)"),
    "completed": ("Hoàn thành (06)", "Completed (06)"),
    "recall_requested": ("Yêu cầu thu hồi (13)", "Recall requested (13)"),
    "recalled": ("Đã thu hồi (15)", "Recalled (15)"),
    "recall_refused": ("Từ chối thu hồi (16)", "Recall refused (16)"),
    "state_sent": ("Đã gửi", "Sent"),
    "state_dead": ("Thất bại hẳn", "Dead letter"),
    "role_viewer": ("xem", "viewer"),
    "role_operator": ("vận hành", "operator"),
    "role_admin": ("quản trị", "admin"),
    "deliveries": ("Lượt gửi", "Deliveries"),
    "per_tenant": ("Theo đơn vị", "Per agency"),
    "any_state": ("Mọi trạng thái", "Any state"),
    "late": ("Trễ hạn", "Late"),
    "step_sent": ("Lên trục", "To the axis"),
    "step_arrived": ("Đã đến", "Arrived"),
    "step_accepted": ("Tiếp nhận", "Accepted"),
    "step_assigned": ("Phân công", "Assigned"),
    "step_in_progress": ("Đang xử lý", "In progress"),
    "step_completed": ("Hoàn thành", "Completed"),
    "reason_required": ("Lý do (bắt buộc)", "Reason (required)"),
    "digest": ("Thuật toán băm", "Digest"),
    "serial": ("Số hiệu", "Serial"),
    "valid_from": ("Hiệu lực từ", "Valid from"),
    "status_received": ("Nhận trạng thái", "Status received"),
    "answer": ("Xử lý văn bản", "Answer"),
    "kind_directive": ("Văn bản chỉ đạo", "Directive"),
    "kind_conclusion": ("Kết luận thanh tra", "Inspection conclusion"),
    "kind_report": ("Báo cáo", "Report"),
    "kind_other": ("Văn bản khác", "Other"),
    "kind_status": ("Trạng thái", "Status"),
    "note": ("Ghi chú", "Note"),
    "not_done": ("Không thực hiện được", "Not done"),
    "done_retry": ("Đã đưa vào hàng đợi để gửi lại ngay.", "Queued to be sent again now."),
    "done_resend": ("Đã đưa vào hàng đợi để gửi lại.", "Queued to be sent again."),
    "done_resend_late": ("Đã gửi lại cho các đơn vị quá hạn.", "Sent again to the late ones."),
    "done_cancel": ("Đã hủy các lượt gửi chưa đi.", "Cancelled what had not left."),
    "done_recall": ("Đã gửi yêu cầu thu hồi (13).", "Recall (13) queued to the recipients."),
    "done_02": (
        "Đã từ chối: trạng thái 02 đang được gửi cho nơi gửi.",
        "Refused: status 02 is on its way to the sender.",
    ),
    "done_03": (
        "Đã tiếp nhận: trạng thái 03 đang được gửi cho nơi gửi.",
        "Accepted: status 03 is on its way to the sender.",
    ),
    "done_04": (
        "Đã phân công: trạng thái 04 đang được gửi cho nơi gửi.",
        "Assigned: status 04 is on its way to the sender.",
    ),
    "done_05": (
        "Trạng thái 05 đang được gửi cho nơi gửi.",
        "Status 05 is on its way to the sender.",
    ),
    "done_06": (
        "Trạng thái 06 đang được gửi cho nơi gửi.",
        "Status 06 is on its way to the sender.",
    ),
    "done_15": (
        "Đồng ý thu hồi: trạng thái 15 đang được gửi.",
        "Recall agreed: status 15 is on its way.",
    ),
    "done_16": (
        "Từ chối thu hồi: trạng thái 16 đang được gửi.",
        "Recall refused: status 16 is on its way.",
    ),
    "tech_detail": ("Chi tiết kỹ thuật", "Technical detail"),
    "err_reason_required": (
        "Chưa nêu lý do: lý do là bắt buộc khi từ chối hoặc thu hồi văn bản.",
        "A reason is required to refuse or recall a document.",
    ),
    "err_nothing_to_cancel": (
        "Không còn lượt gửi nào chưa đi để hủy.",
        "Nothing of this document is still waiting to leave.",
    ),
    "err_nothing_to_recall": (
        "Không còn đơn vị nhận nào có thể được yêu cầu thu hồi văn bản này.",
        "No recipient of this document can still be asked to recall it.",
    ),
}


def lang_of(request: Request, default: str = "vi") -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGS else default


def translator(lang: str) -> Callable[..., str]:
    index = LANGS.index(lang)

    def t(key: str, **kw: object) -> str:
        words = _WORDS.get(key)
        text = words[index] if words else key
        return text.format(**kw) if kw else text

    return t


def kind_label(lang: str, kind: str) -> str:
    key = f"kind_{kind}"
    return translator(lang)(key) if key in _WORDS else kind


#: The fields of a stored verification report (``signing.verify.VerificationResult``, and
#: the short reports of test codecs), labelled for the inbox page; others show as stored.
_REPORT_FIELDS: dict[str, Texts] = {
    "valid": ("Hợp lệ", "Valid"),
    "signer": ("Người ký", "Signer"),
    "chain": ("Chuỗi chứng thư", "Certificate chain"),
    "signer_subject": ("Chủ thể chứng thư", "Certificate subject"),
    "signer_organ": ("Đơn vị ký", "Signing agency"),
    "certificate_fingerprint": ("Dấu vân tay chứng thư (SHA-256)", "Certificate SHA-256"),
    "not_after": ("Chứng thư hết hạn", "Certificate expires"),
    "signature_algorithm": ("Thuật toán ký", "Signature algorithm"),
    "signature_algorithm_name": ("Tên thuật toán ký", "Signature algorithm name"),
    "digest_algorithm": ("Thuật toán băm", "Digest algorithm"),
    "c14n_algorithm": ("Chuẩn hoá", "Canonicalisation"),
    "stripped_hops": ("Dấu vết chuyển tiếp đã tách", "Hops stripped before checking"),
}
_YES_NO: dict[bool, Texts] = {True: ("Có", "Yes"), False: ("Không", "No")}
_REPORT_WORDS: dict[str, Texts] = {"trusted": ("tin cậy", "trusted")}


def _named(table: dict[str, Texts], lang: str, key: str) -> str:
    """``key``'s text in ``lang`` if the table names it, else ``key`` as stored."""
    texts = table.get(key)
    return pick(texts, lang) if texts else key


def report_label(lang: str, field: str) -> str:
    return _named(_REPORT_FIELDS, lang, field)


def report_value(lang: str, value: object) -> object:
    """Yes / no and the few fixed words in the page's language; anything else as stored."""
    if isinstance(value, bool):
        return pick(_YES_NO[value], lang)
    return _named(_REPORT_WORDS, lang, value) if isinstance(value, str) else value


def state_label(lang: str, state: str) -> str:
    key = {"sent": "state_sent", "dead": "state_dead"}.get(state, state)
    return translator(lang)(key)


_STATES = frozenset(s.value for s in State)

#: Timeline events (``store.tables.events.event``) and status-message outcomes, by their
#: stored names; an operator's answer is recorded under the state it leads to.
_EVENTS: dict[str, Texts] = {
    "submitted": ("Đã ký số và lưu", "Signed and stored"),
    "queued": ("Xếp hàng chờ gửi", "Queued"),
    "send_ok": ("Trục đã nhận", "Taken by the axis"),
    "transport_failed": ("Không kết nối được trục", "Axis unreachable"),
    "axis_refused": ("Trục từ chối", "Refused by the axis"),
    "expired": ("Quá hạn gửi, ngừng thử", "Gave up (too old)"),
    "retry": ("Gửi lại ngay", "Retry now"),
    "resend": ("Gửi lại", "Sent again"),
    "cancel": ("Hủy gửi", "Cancelled"),
    "received": ("Đã nhận", "Received"),
    "status": ("Nhận trạng thái", "Status received"),
    "status-ignored": ("Trạng thái bị bỏ qua", "Status ignored"),
    "recall": ("Yêu cầu thu hồi", "Recall requested"),
    "recall-requested": ("Nơi gửi yêu cầu thu hồi", "The sender asks to recall"),
    "matched": ("đã khớp", "matched"),
    "ignored": ("bỏ qua", "ignored"),
    "unknown-document": ("không rõ văn bản", "unknown document"),
    "duplicate": ("trùng lặp", "duplicate"),
}


def event_label(lang: str, event: str) -> str:
    """A timeline event or outcome in the page's language; a state's name for an answer."""
    if event in _STATES and event not in _EVENTS:
        return state_label(lang, event)
    return _named(_EVENTS, lang, event)


# --- detail lines as stored ----------------------------------------------------------------

Detail = Callable[[str, re.Match[str]], str]

#: The detail lines our own code stores in English (the timeline's ``detail``, a delivery's
#: ``last_error``), each with its Vietnamese wording, built from what the line names.
#: Anything else is shown as stored: a recipient's own description, an operator's reason,
#: a remote axis's refusal.
_DETAILS: tuple[tuple[re.Pattern[str], Detail], ...] = (
    (re.compile(r"axis DocId (?P<id>\S+)"), lambda lang, m: f"mã trên trục {m['id']}"),
    (
        re.compile(r"accepted automatically \(tenant policy\)"),
        lambda lang, m: "tự động tiếp nhận (theo chính sách của đơn vị)",
    ),
    (re.compile(r"(?P<n>\d+) recipient\(s\)"), lambda lang, m: f"{m['n']} nơi nhận"),
    (
        re.compile(r"addressed to (?P<old>\S+), now (?P<new>\S+)"),
        lambda lang, m: f"gửi tới {m['old']}, nay là {m['new']}",
    ),
    (re.compile(r"by operator"), lambda lang, m: "bởi cán bộ vận hành"),
    (re.compile(r"by (?P<who>\S+)"), lambda lang, m: f"bởi {m['who']}"),
    (
        re.compile(r"no answer within the maximum age"),
        lambda lang, m: "không có trả lời trong thời hạn tối đa",
    ),
    (
        re.compile(r"(?P<rest>.+) \(one send for (?P<n>\d+) recipients\)"),
        lambda lang, m: f"{_say(lang, m['rest'])} (một lần gửi cho {m['n']} nơi nhận)",
    ),
    (
        re.compile(r"(?P<rest>.+) \(status message (?P<id>\d+)\)"),
        lambda lang, m: f"{_say(lang, m['rest'])} (thông điệp trạng thái số {m['id']})",
    ),
    (
        re.compile(r"cannot apply (?P<code>\d\d) \([^)]*\) to a delivery that is (?P<state>\S+)"),
        lambda lang, m: (
            f"không áp dụng được trạng thái {m['code']} cho lượt gửi đang "
            f"“{state_label(lang, m['state'])}”"
        ),
    ),
    (
        re.compile(r"axis (?P<where>\S+) unreachable: (?P<why>.+)"),
        lambda lang, m: f"không kết nối được trục {m['where']}: {m['why']}",
    ),
    (
        re.compile(r"hub SOAP endpoint unreachable: (?P<why>.+)"),
        lambda lang, m: f"không kết nối được cổng SOAP: {m['why']}",
    ),
    (
        re.compile(r"axis (?P<where>\S+) answered HTTP (?P<code>\d+)(?P<more> without JSON)?"),
        lambda lang, m: (
            f"trục {m['where']} trả lời HTTP {m['code']}" + (" không kèm JSON" if m["more"] else "")
        ),
    ),
    (
        re.compile(r"hub SOAP answered HTTP (?P<code>\d+)"),
        lambda lang, m: f"cổng SOAP trả lời HTTP {m['code']}",
    ),
    # the signature block (``api/docinfo.py``)
    (re.compile(r"not readable as XML"), lambda lang, m: "không đọc được như XML"),
    (re.compile(r"unreadable certificate"), lambda lang, m: "không đọc được chứng thư số"),
)


@functools.lru_cache(maxsize=4096)  # a fan-out's page repeats lines hundreds of times
def detail_text(lang: str, detail: str | None) -> str:
    """A stored detail line in the page's language (``_DETAILS``), else as stored."""
    if not detail:
        return ""
    return detail if lang == "en" else _say(lang, detail)


def _say(lang: str, detail: str) -> str:
    for pattern, say in _DETAILS:
        found = pattern.fullmatch(detail)
        if found is not None:
            return say(lang, found)
    return detail


def pick(texts: Texts, lang: str) -> str:
    return texts[LANGS.index(lang)] if lang in LANGS else texts[0]


def word_texts(key: str) -> Texts:
    return _WORDS[key]


# --- errors ------------------------------------------------------------------------------

#: A short sentence per error class; a class without its own entry gets its nearest parent's.
_ERRORS: dict[type[BaseException], Texts] = {
    errors.InterchangeError: (
        "Thao tác không thực hiện được.",
        "The action could not be done.",
    ),
    errors.ConfigError: (
        "Máy chủ chưa được cấu hình đủ cho thao tác này (ví dụ: thiếu khóa ký số).",
        "The server is not set up for this action (for example, it has no signing keys).",
    ),
    errors.FormatError: (
        "Văn bản không đúng định dạng nên không đọc được.",
        "The document is not in a format that can be read.",
    ),
    errors.NotXMLError: ("Dữ liệu không phải XML hợp lệ.", "The data is not well-formed XML."),
    errors.UnsafeXMLError: (
        "Tệp XML chứa thành phần không an toàn hoặc vượt quá giới hạn kích thước.",
        "The XML holds unsafe content or is over the size limits.",
    ),
    errors.NotEdXMLError: (
        "Tệp XML không phải văn bản hay thông điệp trạng thái edXML.",
        "The XML is not an edXML document or status message.",
    ),
    errors.AttachmentError: (
        "Tệp đính kèm bị hỏng hoặc không có trong danh mục đính kèm.",
        "An attachment is damaged or missing from the manifest.",
    ),
    errors.SchemaError: (
        "Văn bản không đúng lược đồ (XSD) quy định.",
        "The document does not match its schema (XSD).",
    ),
    errors.PayloadError: (
        "Nội dung có cấu trúc của văn bản không hợp lệ.",
        "The document's structured part is invalid.",
    ),
    errors.SignatureError: (
        "Chữ ký số không hợp lệ: văn bản phải bị từ chối.",
        "The digital signature is not valid: the document must be refused.",
    ),
    errors.UnsignedError: ("Văn bản chưa được ký số.", "The document is not signed."),
    errors.SignatureStructureError: (
        "Chữ ký số không đúng cấu trúc quy định.",
        "The signature is not in the required form.",
    ),
    errors.AlgorithmNotAllowedError: (
        "Chữ ký số dùng thuật toán không được phép.",
        "The signature uses an algorithm that is not allowed.",
    ),
    errors.DigestMismatchError: (
        "Nội dung văn bản đã bị thay đổi sau khi ký số.",
        "The document was changed after it was signed.",
    ),
    errors.SignatureValueError: (
        "Giá trị chữ ký không khớp với khóa của chứng thư số.",
        "The signature value does not match the certificate's key.",
    ),
    errors.CertificateError: ("Chứng thư số không hợp lệ.", "The certificate is not valid."),
    errors.MissingCertificateError: (
        "Chữ ký số không kèm chứng thư số.",
        "The signature carries no certificate.",
    ),
    errors.UntrustedCertificateError: (
        "Chứng thư số không do tổ chức chứng thực tin cậy cấp.",
        "The certificate is not issued by a trusted authority.",
    ),
    errors.ExpiredCertificateError: (
        "Chứng thư số đã hết hạn hoặc chưa có hiệu lực.",
        "The certificate has expired or is not valid yet.",
    ),
    errors.RevokedCertificateError: (
        "Chứng thư số đã bị thu hồi.",
        "The certificate has been revoked.",
    ),
    errors.KeyUsageError: (
        "Chứng thư số không được phép dùng để ký văn bản.",
        "The certificate may not be used to sign documents.",
    ),
    errors.CrlError: (
        "Danh sách chứng thư số bị thu hồi (CRL) đã quá hạn hoặc không hợp lệ.",
        "The certificate revocation list (CRL) is out of date or invalid.",
    ),
    errors.SignerBindingError: (
        "Chứng thư số không thuộc cơ quan gửi văn bản.",
        "The certificate does not belong to the sending agency.",
    ),
    errors.TraceHeaderError: (
        "Nội dung đã ký bị thay đổi trên đường truyền.",
        "Signed content was changed on the way.",
    ),
    errors.OrganError: ("Cơ quan, đơn vị không hợp lệ.", "The agency is not valid."),
    errors.OrganCodeError: (
        "Mã định danh cơ quan, đơn vị không đúng định dạng.",
        "The agency code is not in a valid form.",
    ),
    errors.UnknownOrganError: (
        "Không có cơ quan, đơn vị này trong danh bạ.",
        "This agency is not in the directory.",
    ),
    errors.DirectoryError: (
        "Danh bạ cơ quan, đơn vị bị lỗi, không nạp được.",
        "The agency directory cannot be loaded.",
    ),
    errors.AxisError: ("Trục liên thông báo lỗi.", "The axis reported an error."),
    errors.TransportError: (
        "Không kết nối được trục liên thông; hệ thống sẽ tự thử lại sau.",
        "The axis could not be reached; it will be tried again later.",
    ),
    errors.RefusedError: ("Trục liên thông từ chối tiếp nhận.", "The axis refused it."),
    errors.AuthenticationError: (
        "Trục liên thông không chấp nhận thông tin xác thực của đơn vị.",
        "The axis refused this node's credentials.",
    ),
    errors.DeliveryError: (
        "Không thực hiện được thao tác này với văn bản ở trạng thái hiện tại.",
        "This cannot be done to the document in its current state.",
    ),
    IllegalTransitionError: (
        "Thao tác không phù hợp với trạng thái hiện tại của văn bản.",
        "This does not fit the document's current state.",
    ),
    DuplicateDocumentError: (
        "Đơn vị đã gửi một văn bản có cùng mã định danh (DocumentId).",
        "The agency already sent a document with this DocumentId.",
    ),
    errors.NotFoundError: (
        "Không có mục này, hoặc mục này không thuộc đơn vị bạn phụ trách.",
        "It does not exist, or it is outside the agencies you serve.",
    ),
    errors.PermissionDeniedError: (
        "Bạn không có quyền thực hiện thao tác này.",
        "You are not allowed to do this.",
    ),
    FormExpired: (
        "Biểu mẫu đã hết hạn: hãy tải lại trang rồi thử lại.",
        "The form expired: reload the page and try again.",
    ),
    CrossSiteForm: (
        "Biểu mẫu gửi từ trang web khác đã bị từ chối.",
        "A form sent from another site was refused.",
    ),
    OperatorRoleNeeded: (
        "Thao tác này cần vai trò vận hành.",
        "This needs the operator role.",
    ),
    errors.AuditChainError: (
        "Nhật ký thao tác đã bị sửa đổi hoặc mất mục ghi.",
        "The audit log was altered or lost an entry.",
    ),
    Unauthorized: ("Cần đăng nhập lại.", "Please sign in again."),
    BadRequest: ("Yêu cầu không hợp lệ.", "The request is invalid."),
    RequestValidationError: (
        "Các trường của biểu mẫu không hợp lệ (ví dụ: quá dài).",
        "The form's fields are invalid (for example, too long).",
    ),
}

#: What an operator clicked, for "cannot do X in state Y": event → a key of ``_WORDS``.
_EVENT_WORDS: dict[Any, str] = {
    Action.RETRY: "retry",
    Action.RESEND: "resend",
    Action.CANCEL: "cancel",
    StatusCode.REFUSED: "refuse",
    StatusCode.ACCEPTED: "accept",
    StatusCode.ASSIGNED: "assign",
    StatusCode.IN_PROGRESS: "in_progress_btn",
    StatusCode.COMPLETED: "completed_btn",
    StatusCode.RECALL_REQUESTED: "recall",
    StatusCode.CHANGE_ACCEPTED: "recall_agree",
    StatusCode.CHANGE_REFUSED: "recall_refuse",
}


def class_texts(cls: type[BaseException]) -> Texts:
    """The sentence of an error class: its own, else its nearest parent's (MRO order)."""
    for klass in cls.__mro__:
        if klass in _ERRORS:
            return _ERRORS[klass]
    return _ERRORS[errors.InterchangeError]


def _with_codes(cls: type[errors.InterchangeError]) -> dict[str, Texts]:
    found = {cls.code: class_texts(cls)} if "code" in vars(cls) else {}
    for sub in cls.__subclasses__():
        found.update(_with_codes(sub))
    return found


@functools.cache
def _codes() -> dict[str, Texts]:
    return _with_codes(errors.InterchangeError)


def code_sentence(lang: str, code: str) -> str:
    """The sentence of the error class whose ``code`` was stored (an inbox item's
    ``error_code``), in the page's language; the code itself if no class has it."""
    texts = _codes().get(code)
    return pick(texts, lang) if texts is not None else code


def error_texts(exc: BaseException) -> Texts:
    """What an operator reads when ``exc`` stopped an action or a page, in both languages.

    A refused transition is said from its facts (what was clicked, the state it is in)."""
    if isinstance(exc, IllegalTransitionError) and exc.event in _EVENT_WORDS:
        act, state = _WORDS[_EVENT_WORDS[exc.event]], exc.state.value
        delivery = isinstance(exc.event, Action) or exc.event is StatusCode.RECALL_REQUESTED
        vi_what, en_what = ("lượt gửi", "delivery") if delivery else ("văn bản", "document")
        return (
            f"Không thể thực hiện “{act[0]}” vì {vi_what} đang ở trạng thái "
            f"“{state_label('vi', state)}”.",
            f"Cannot do “{act[1]}”: the {en_what} is in state “{state_label('en', state)}”.",
        )
    return class_texts(type(exc))


# --- what an action did -----------------------------------------------------------------------

_DONE_VI = {
    "done_retry": "Lượt gửi số {delivery} nay ở trạng thái “{state}”.",
    "done_resend": "Lượt gửi số {delivery} nay ở trạng thái “{state}”.",
    "done_resend_late": "Đã đưa {count} lượt gửi vào hàng đợi để gửi lại.",
    "done_cancel": "Đã hủy {count} lượt gửi chưa đi.",
    "done_recall": "Yêu cầu thu hồi (13) đã được ký số, đang chờ gửi tới {count} đơn vị nhận.",
}
_ANSWER_VI = (
    "Văn bản nay ở trạng thái “{state}”; thông điệp trạng thái {code} đã được ký số "
    "và xếp hàng chờ gửi."
)


def done_texts(
    key: str,
    english: str,
    *,
    state: str | None,
    count: int | None,
    delivery: int | None = None,
    assigned_to: str | None = None,
) -> Texts:
    """The detail line after an action: in Vietnamese, built from the action's facts (its new
    state, how many it moved); in English, the action's own line (as in the audit log)."""
    label = state_label("vi", state) if state else ""
    if key in _DONE_VI:
        template = _DONE_VI[key]
        if ("{state}" in template and not label) or ("{count}" in template and count is None):
            return "", english
        vi = template.format(delivery=delivery, state=label, count=count)
    elif key.startswith("done_") and label:
        vi = _ANSWER_VI.format(state=label, code=key.removeprefix("done_"))
        if assigned_to:
            vi += f" Giao cho: {assigned_to}."
    else:
        return "", english
    return vi, english
