"""Schemas compiled in many threads at once (the inbox verifies on a thread pool).

libxml2's schema compiler has process-global state; without the project's compile lock,
concurrent first compilations failed with "the given type is not a built-in type".
"""

from __future__ import annotations

import threading

from interchange.edxml import validate
from interchange.payloads import xml as payload_xml


def test_concurrent_first_compilations_all_succeed() -> None:
    n = 12
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            validate.schema_for("status")
            validate.schema_for("edoc")
            payload_xml._schema()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    for _ in range(3):  # fresh threads: each compiles its own copies
        threads = [threading.Thread(target=work) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
