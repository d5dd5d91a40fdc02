"""Who may read what the alliance stores: partners' originals, their feedback and statements are the alliance's
and its officers', never every account on the machine (no "other" bits). The owner writes; the group (the
alliance's service accounts) reads."""

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o750  # rwxr-x---
FILE_MODE = 0o640  # rw-r----- : feedback and statements (written again only by a new name)
ARCHIVED_MODE = 0o440  # r--r----- : an archived original is never changed


def private_folder(folder: Path) -> Path:
    """``folder`` and any parents made for it, each made 0750 (whatever the umask); an existing folder is left."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    folder.mkdir(parents=True, exist_ok=True)
    for made in missing:
        with contextlib.suppress(OSError):  # made meanwhile by another writer that is not this account
            os.chmod(made, FOLDER_MODE)
    return folder
