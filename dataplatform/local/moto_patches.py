"""moto 5.2.5 patch for the local platform (developer tooling, never deployed): Glue's optimistic locking.

Real Glue refuses `UpdateTable(VersionId=v)` with ConcurrentModificationException when the table changed since
version v was read. Iceberg's GlueCatalog relies on it: it commits with the VersionId of its last `GetTable`, and on
that exception refreshes and retries the commit. Stock moto ignores `VersionId` (`GlueResponse.update_table` never
reads it), so two writers committing at once both "succeed" and one commit is silently lost (reproduced in the
Iceberg spike: 2 lost of 8). `install()` adds the check-and-set, under a lock, in the process that runs the moto
server. It reads moto's internal `FakeTable._current_version`: moto is pinned (requirements-dev.txt) and
tests/unit/test_moto_patches.py fails if that internal changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.glue.exceptions import GlueClientError
from moto.glue.responses import GlueResponse


class ConcurrentModificationException(GlueClientError):
    def __init__(self, message: str) -> None:
        super().__init__("ConcurrentModificationException", message)


class _State:
    lock = threading.Lock()
    original: Callable[[GlueResponse], Any] | None = None
    rejected = 0
    """UpdateTable calls refused because the table had moved on (a test reads it to see a conflict happened)."""
    before_update: Callable[[], None] | None = None
    """Test hook run before each UpdateTable is checked (outside the lock): lets a test hold two commits until
    both writers have read the same version."""


STATE = _State()


def _update_table(self: GlueResponse) -> Any:
    hook = STATE.before_update
    if hook is not None:
        hook()
    with STATE.lock:
        expected = self.parameters.get("VersionId")
        if expected is not None:
            database = self.parameters.get("DatabaseName")
            name = self.parameters["TableInput"]["Name"]
            current = str(self.glue_backend.get_table(database, name)._current_version)
            if str(expected) != current:
                STATE.rejected += 1
                raise ConcurrentModificationException(
                    f"Update table failed due to concurrent modifications: VersionId {expected} is not the "
                    f"current version {current} of {database}.{name}"
                )
        assert STATE.original is not None
        return STATE.original(self)


def install() -> None:
    """Enforce UpdateTable's VersionId in this process's moto backends (idempotent)."""
    with STATE.lock:
        if STATE.original is None:
            STATE.original = GlueResponse.update_table
            GlueResponse.update_table = _update_table  # type: ignore[method-assign]
