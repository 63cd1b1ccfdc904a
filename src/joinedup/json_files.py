"""Small JSON files that many requests read and few commands write (a store's `area.json`, a
stratification run's `run.json`): parsed once, read again only when the file changes.

Every page read the population store's metadata (11 KB) and every run's `run.json` on each
request — about a millisecond of JSON decoding a page, and one more file a run for the list of
runs, which grows every day an area stratifies. A parsed file is kept with the file's identity
(device, inode, size, modification time): a file replaced (written elsewhere and renamed in, as
the store and runs are) or rewritten in place is read again. A writer in this process calls
`forget` too, so two writes within the file system's clock tick cannot be mistaken for one.

Callers get a shallow copy: setting a key does not reach the cache, but nested lists and dicts
are shared, so treat them as read-only.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

_Identity = tuple[int, int, int, int]

_parsed: dict[str, tuple[_Identity, dict[str, Any]]] = {}
_lock = threading.Lock()


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, parsed once per version of the file (OSError if missing)."""
    stat = path.stat()
    identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    key = str(path)
    with _lock:
        cached = _parsed.get(key)
    if cached is None or cached[0] != identity:
        cached = identity, json.loads(path.read_text(encoding="utf-8"))
        with _lock:
            _parsed[key] = cached
    return dict(cached[1])


def forget(path: Path) -> None:
    """Drop what is kept for `path` (call after writing it)."""
    with _lock:
        _parsed.pop(str(path), None)
