"""Writing files safely: atomic replacement with the user's umask, and an exclusive directory lock.

Every file spatialeval writes whole (summaries, tables, cache entries, embeddings, reports) goes
through :func:`atomic_write_bytes`: a temporary file in the same folder, flushed and fsynced, then
renamed over the target, so a reader or an interrupted run never sees half a file. The final
file gets the permissions a plain ``open()`` would give (0666 minus the umask), not the 0600 of
a temporary file.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from spatialeval.errors import OutputError, OutputLockedError


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once (single-threaded start-up or not,
    # the value is restored before anything else can create a file in between in this thread).
    mask = os.umask(0)
    os.umask(mask)
    return mask


_DEFAULT_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename); parents are created.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "sub" / "a.txt"
        >>> atomic_write_bytes(target, b"hello")
        >>> target.read_bytes()
        b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, _DEFAULT_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def ensure_directory(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Create ``path`` (and parents) or raise :class:`OutputError` saying why it cannot be used."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(errno.ENOTDIR, f"{what} {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(exc.errno or errno.EIO, f"cannot create the {what} {path}: {exc.strerror or exc}") from exc
    return path


class DirectoryLock:
    r"""An exclusive advisory lock (``flock``) on ``DIR/.spatialeval.lock`` for the life of a run.

    A second run on the same directory fails at once with :class:`OutputLockedError` naming the
    process that holds it; the lock is released when the holder exits, however it exits. Within
    one process the lock is re-entrant (a parallel run that locks its output folder may merge
    into it).

    Example (a second process is refused while the first holds the lock):
        >>> import subprocess, sys, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> probe = ("import sys; from spatialeval.io.files import DirectoryLock\n"
        ...          "try: DirectoryLock(sys.argv[1]).acquire()\nexcept Exception as e: print(type(e).__name__)")
        >>> with DirectoryLock(folder):
        ...     print(subprocess.run([sys.executable, "-c", probe, folder], capture_output=True, text=True).stdout.strip())
        OutputLockedError
    """

    NAME = ".spatialeval.lock"
    _held: dict[str, int] = {}  # lock files this process holds → how many holders

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / self.NAME
        self._fd: int | None = None
        self._nested = False

    def acquire(self) -> "DirectoryLock":
        import fcntl

        ensure_directory(self.path.parent)
        key = os.path.realpath(self.path)
        if key in DirectoryLock._held:
            DirectoryLock._held[key] += 1
            self._nested = True
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise OutputLockedError(
                f"{self.path.parent} is in use by another spatialeval run (pid {holder}); "
                "wait for it to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        DirectoryLock._held[key] = 1
        return self

    def release(self) -> None:
        key = os.path.realpath(self.path)
        if self._nested:
            DirectoryLock._held[key] -= 1
            self._nested = False
        elif self._fd is not None:
            DirectoryLock._held.pop(key, None)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
