"""Dashboard words in Vietnamese (default) and English (``?lang=en``, remembered in a cookie)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGS = ("vi", "en")
LANG_COOKIE = "ix_lang"

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


def state_label(lang: str, state: str) -> str:
    key = {"sent": "state_sent", "dead": "state_dead"}.get(state, state)
    return translator(lang)(key)
