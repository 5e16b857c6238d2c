"""``interchange`` with a test-only pause between storing a fetched item and acknowledging it.

Run as ``python tests/e2e/pausing_node.py serve --config FILE``. With
``INTERCHANGE_TEST_PAUSE_AFTER_FETCH=<marker file>`` set, the first acknowledgement to the
hub writes the item's docId to the marker file and blocks forever instead: the document is
fetched and committed, the hub still offers it. The test then SIGKILLs the process. Kept out
of the node's code on purpose: production code has no test hooks.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def _install_pause(marker: Path) -> None:
    import adapters.vxp

    def paused(self: Any, doc_id: str, *, ok: bool = True) -> None:
        marker.write_text(doc_id, encoding="utf-8")
        while True:
            time.sleep(3600)

    adapters.vxp.VxpAxis.acknowledge = paused  # type: ignore[method-assign]


def main() -> None:
    marker = os.environ.get("INTERCHANGE_TEST_PAUSE_AFTER_FETCH")
    if marker:
        _install_pause(Path(marker))
    from interchange.cli.main import main as cli

    sys.argv = ["interchange", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
