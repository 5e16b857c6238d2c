"""The demo's story: a province directs its districts, and its conclusion reaches the Ministry.

The Tây Ninh Department of Information and Communications sends one directive to "the
districts of province Tây Ninh" (expanded by its node through the directory) and issues one
inspection conclusion addressed to nobody in particular: the node's routing rule forwards it
to the Ministry Inspectorate. Every recipient answers by itself (01 then 03, per its
tenant policy). Nothing here knows codes: they are read from the directory.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..organs import Directory, load_directory
from ..payloads import Payload, payload_from_dict
from ..resources import data_dir
from .observe import ANSWERED, DeliveryRow, NodeStore
from .spec import NetworkSpec, NodeSpec, TenantSpec, Timings

PROVINCE = "000.00.00.H53"  # Tây Ninh Provincial People's Committee


def demo_directory_path() -> Path:
    return data_dir() / "directory" / "demo.yaml"


@dataclass(frozen=True, slots=True)
class Cast:
    """Who plays in the demo, as the directory names them."""

    inspectorate: str
    department: str
    province: str
    districts: tuple[str, ...]
    names: dict[str, str]


def cast_of(directory: Directory, province: str = PROVINCE) -> Cast:
    inspectorate = directory.ministry_inspectorate()
    department = directory.department_of_ic(province)
    districts = directory.districts_of(province)
    names = {a.code: a.name for a in (inspectorate, department, *districts)}
    return Cast(
        inspectorate=inspectorate.code,
        department=department.code,
        province=province,
        districts=tuple(a.code for a in districts),
        names=names,
    )


def demo_spec(
    directory_path: Path | None = None, *, timings: Timings | None = None, key_type: str = "rsa"
) -> tuple[NetworkSpec, Cast]:
    """Hub + Ministry Inspectorate node + department node + one node for all districts."""
    path = directory_path or demo_directory_path()
    cast = cast_of(load_directory(path))
    n = cast.names
    spec = NetworkSpec(
        nodes=(
            NodeSpec("ministry", (TenantSpec(cast.inspectorate, n[cast.inspectorate]),)),
            NodeSpec("department", (TenantSpec(cast.department, n[cast.department]),)),
            NodeSpec("districts", tuple(TenantSpec(c, n[c]) for c in cast.districts)),
        ),
        directory=path,
        timings=timings or Timings(),
        key_type=key_type,
    )
    return spec, cast


def _serial() -> str:
    """A document number unique per run (DocumentIds must not repeat for one sender)."""
    return str(time.time_ns() // 1_000_000 % 10_000_000)


def directive(cast: Cast, *, today: dt.date | None = None, number: str | None = None) -> Payload:
    day = today or dt.date.today()
    data: dict[str, Any] = {
        "number": number or _serial(),
        "notation": "STTTT-TTra",
        "date": day.isoformat(),
        "place": "Tây Ninh",
        "issuer": {"code": cast.department, "name": cast.names[cast.department]},
        "form": "official-letter",
        "subject": "Về việc tăng cường kiểm tra, xử lý SIM rác, tin nhắn rác và cuộc gọi rác",
        "actions": [
            "Rà soát các điểm cung cấp dịch vụ viễn thông trên địa bàn.",
            "Báo cáo kết quả thực hiện về Sở Thông tin và Truyền thông.",
        ],
        "response_due": (day + dt.timedelta(days=27)).isoformat(),
        "targets": [{"level": "districts", "of": cast.province}],
    }
    return payload_from_dict("directive", data)


def conclusion(cast: Cast, *, today: dt.date | None = None, number: str | None = None) -> Payload:
    day = today or dt.date.today()
    data: dict[str, Any] = {
        "number": number or _serial(),
        "notation": "KL-STTTT",
        "date": day.isoformat(),
        "place": "Tây Ninh",
        "issuer": {"code": cast.department, "name": cast.names[cast.department]},
        "subject": "Kết luận thanh tra đột xuất việc quản lý thông tin thuê bao và SIM rác",
        "decision": {
            "number": "42",
            "notation": "QĐ-STTTT",
            "date": (day - dt.timedelta(days=42)).isoformat(),
        },
        "inspection_kind": "ad-hoc",
        "field": "spam",
        "inspected_party": {
            "name": "Công ty TNHH Viễn thông Minh họa",
            "tax_code": "3901234567",
            "address": "Thành phố Tây Ninh, tỉnh Tây Ninh",
        },
        "findings": ["Lưu giữ 1.250 SIM thuê bao di động đã được kích hoạt sẵn."],
        "violations": [
            {
                "number": 1,
                "description": "Kinh doanh SIM thuê bao di động đã được kích hoạt sẵn dịch vụ.",
                "legal_basis": "Nghị định số 15/2020/NĐ-CP, sửa đổi bởi Nghị định 14/2022/NĐ-CP.",
                "fine_vnd": 60_000_000,
                "remedy": "Thu hồi, hủy toàn bộ SIM đã kích hoạt sẵn.",
                "remedy_deadline": (day + dt.timedelta(days=30)).isoformat(),
            }
        ],
        "referred_to_police": False,
        "warning_count": 1,
    }
    return payload_from_dict("conclusion", data)


def wait_answered(
    store: NodeStore,
    sender: str,
    document_ids: Sequence[str],
    *,
    expected: int,
    timeout: float,
    interval: float = 0.2,
) -> tuple[bool, list[DeliveryRow]]:
    """Poll the sender's store until its ``expected`` deliveries of these documents are answered.

    Returns (done, rows): ``done`` is False on timeout, with the rows as they were then.
    """
    wanted = set(document_ids)
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in store.deliveries(sender) if r.document_id in wanted]
        if len(rows) >= expected and all(r.state in ANSWERED for r in rows):
            return True, rows
        if time.monotonic() >= deadline:
            return False, rows
        time.sleep(interval)


@dataclass(frozen=True, slots=True)
class FanOut:
    """A synthetic national network: one sender, every district on one node."""

    spec: NetworkSpec
    sender: str
    inspectorate: str
    provinces: tuple[str, ...]
    districts: tuple[str, ...]
    names: dict[str, str]


def fanout_spec(
    data_dir: Path,
    *,
    provinces: int = 63,
    districts_total: int = 705,
    timings: Timings | None = None,
    key_type: str = "ec",
    sender_db_url: str | None = None,
    sender_workers: int = 1,
    sender_env: tuple[tuple[str, str], ...] = (),
    districts_env: tuple[tuple[str, str], ...] = (),
    with_ministry: bool = False,
) -> FanOut:
    """Write a synthetic directory into ``data_dir`` and describe the network around it.

    The sender is the first province's Department of IC; the districts share one hub system
    (``shared_axis``) so that the node lists its queue once per pass, not once per district.
    ``with_ministry`` adds a node for the Ministry Inspectorate (conclusion throughput).
    """
    from ..organs import dump_directory, generate_national

    directory = generate_national(provinces=provinces, districts_total=districts_total)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "directory.yaml"
    dump_directory(directory, path, name="synthetic national")
    tops = tuple(a.code for a in directory.by_kind("province"))
    sender = directory.department_of_ic(tops[0])
    inspectorate = directory.ministry_inspectorate()
    districts = tuple(a.code for top in tops for a in directory.districts_of(top))
    names = {a.code: a.name for a in directory}
    nodes = [
        NodeSpec(
            "sender",
            (TenantSpec(sender.code, sender.name),),
            db_url=sender_db_url,
            workers=sender_workers,
            env=sender_env,
        ),
        NodeSpec(
            "districts",
            tuple(TenantSpec(c, names[c]) for c in districts),
            shared_axis=True,
            env=districts_env,
        ),
    ]
    if with_ministry:
        nodes.append(NodeSpec("ministry", (TenantSpec(inspectorate.code, inspectorate.name),)))
    spec = NetworkSpec(
        nodes=tuple(nodes), directory=path, timings=timings or Timings(), key_type=key_type
    )
    return FanOut(spec, sender.code, inspectorate.code, tops, districts, names)


def fanout_directive(fan: FanOut, *, number: str | None = None) -> Payload:
    """A directive from the sender to the districts of every province of the network."""
    data: dict[str, Any] = {
        "number": number or _serial(),
        "notation": "STTTT-TTra",
        "date": dt.date.today().isoformat(),
        "issuer": {"code": fan.sender, "name": fan.names[fan.sender]},
        "subject": "Về việc rà soát hạ tầng kết nối trục liên thông văn bản đến cấp huyện",
        "actions": ["Kiểm tra kết nối trục liên thông và báo cáo kết quả."],
        "targets": [{"level": "districts", "of": top} for top in fan.provinces],
    }
    return payload_from_dict("directive", data)
