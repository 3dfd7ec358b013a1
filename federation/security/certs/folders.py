"""Creating certificate files and folders: never over a file, never through a symbolic link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from federation.clip import few

from .directory import CertificateError


def why(exc: OSError) -> str:
    """What an OSError says went wrong, without its errno prefix."""
    return exc.strerror or str(exc)


def new_folder(path: Path) -> None:
    """Create the folder of a new CA, or take an empty one; CertificateError naming it otherwise."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise CertificateError(f"cannot create {path}: {why(exc)}") from None
        return
    except OSError as exc:
        raise CertificateError(f"{path}: {why(exc)}") from None
    if stat.S_ISLNK(info.st_mode):
        raise CertificateError(f"{path} is a symbolic link, which is never followed: name the folder itself")
    if not stat.S_ISDIR(info.st_mode):
        raise CertificateError(f"{path} exists and is not a folder")
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise CertificateError(f"{path}: {why(exc)}") from None
    if entries:
        raise CertificateError(f"{path} is not empty ({few(entries)}): certs init writes a new certificate authority "
                               "only into an empty or new folder, and never overwrites a file")


def open_folder(path: Path, parent: int | None = None, create: bool = False) -> int:
    """A descriptor of the folder `path` (a name in `parent`'s folder when given), never through a symbolic link;
    made first when `create` and missing."""
    where = path.name if parent is not None else path
    if create:
        try:
            os.mkdir(where, 0o755, dir_fd=parent)
        except FileExistsError:
            pass  # opened below when it is a folder, not a link
        except OSError as exc:
            raise CertificateError(f"cannot create {path}: {why(exc)}") from None
    try:
        if stat.S_ISLNK(os.lstat(where, dir_fd=parent).st_mode):
            hint = ": name the folder itself" if parent is None else ""
            raise CertificateError(f"{path} is a symbolic link, which is never followed{hint}")
        return os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    except OSError as exc:
        raise CertificateError(f"{path}: {why(exc)}") from None


def write_new(folder: int, path: Path, data: bytes, private: bool) -> None:
    """Create the file `path` (its name in the open `folder`): never over a file, never through a symbolic link."""
    try:
        fd = os.open(path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600 if private else 0o644,
                     dir_fd=folder)
    except FileExistsError:
        raise CertificateError(f"{path} already exists: a certificate or key is never overwritten") from None
    except OSError as exc:
        raise CertificateError(f"cannot write {path}: {why(exc)}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)



def exists_in(folder: int, path: Path) -> bool:
    """Whether the name of `path` is taken in the open `folder` (by anything, a dangling symbolic link too)."""
    try:
        os.lstat(path.name, dir_fd=folder)
        return True
    except FileNotFoundError:
        return False

