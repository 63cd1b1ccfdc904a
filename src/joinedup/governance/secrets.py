"""Secret keys generated on first use and kept in the joinedup home, never in the repository.

`secret_key(settings, "pseudonym")` keys the pseudonyms of commissioning views; other parts may
ask for keys of their own by name.
Each key is 32 random bytes in ``<home>/secrets/<name>.key``, readable by its owner only.
Deleting a key changes every pseudonym made with it: keep them with the care store's backups.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from joinedup.settings import Settings

KEY_BYTES = 32


def secret_key(settings: Settings, name: str) -> bytes:
    """The named key, made (atomically, mode 0600) the first time it is asked for."""
    folder = settings.home / "secrets"
    path = folder / f"{name}.key"
    if path.is_file():
        return bytes.fromhex(path.read_text().strip())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    _write_once(path, key.hex())
    # Another process may have won the race: everyone uses the file that landed.
    return bytes.fromhex(path.read_text().strip())


def _write_once(path: Path, text: str) -> None:
    partial = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    try:
        os.link(partial, path)  # fails if the key exists: never overwrite a key
    except FileExistsError:
        pass
    finally:
        partial.unlink()
