"""Low-level I/O for :mod:`nnlab.data`: HTTP downloads, subprocesses, archives, atomic writes.

Nothing here knows about data sets. Every network or subprocess call is bounded in
time, so that an unreachable source fails within seconds instead of hanging:

- HTTP: ``CONNECT_TIMEOUT`` seconds to connect (DNS, TCP, TLS), then ``READ_TIMEOUT``
  seconds for any single read; the HTTP status and the announced length are checked.
- Subprocesses (``npm``, ``apt-get``, ``dpkg-deb``): ``COMMAND_TIMEOUT`` seconds.

Files are written atomically: to a temporary file in the target's folder, then
``os.replace``; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import os
import shutil
import secrets
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

CONNECT_TIMEOUT = 5.0  # seconds to reach a host (DNS + TCP + TLS)
READ_TIMEOUT = 60.0  # seconds one read may stall once connected
COMMAND_TIMEOUT = 180.0  # seconds for one subprocess (npm pack, apt-get download)
CHUNK = 1 << 20
USER_AGENT = "nnlab-data/0.1 (+https://pypi.org/project/nnlab)"


class FetchError(Exception):
    """A download, command or archive step failed; the message says why, in one line."""


# --------------------------------------------------------------------------- progress


class Progress:
    """Prints status lines and download byte counts to a stream (stderr), or nothing."""

    def __init__(self, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self._last = 0.0

    def status(self, message: str) -> None:
        """One line of status (e.g. which source is being tried)."""
        if self.enabled:
            print(message, file=self.stream, flush=True)

    def transfer(self, label: str, done: int, total: int | None, final: bool = False) -> None:
        """Report ``done`` of ``total`` bytes; throttled to a few updates a second."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self._last < 0.25:
            return
        self._last = now
        size = f"{done / 1e6:.1f} MB" if total is None else f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
        percent = "" if not total else f" {100 * done / total:3.0f}%"
        end = "\n" if final else ""
        interactive = getattr(self.stream, "isatty", lambda: False)()
        if interactive or final:
            print(f"\r    {label}: {size}{percent}", end=end, file=self.stream, flush=True)


# --------------------------------------------------------------------------- files


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(target: Path) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``target``; on success it replaces ``target`` atomically.

    On any exception the temporary file is removed and ``target`` is left untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as handle:  # unlike mkstemp, respects the umask (0644, not 0600)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` through :func:`atomic_write`: all of it or nothing."""
    with atomic_write(target) as handle:
        handle.write(text.encode("utf-8"))


def remove_stale_temporaries(folder: Path, max_age_s: float = 86400.0) -> None:
    """Delete temporary files/folders (``.*.tmp``, ``.download-*``) left by a killed process."""
    if not folder.is_dir():
        return
    cutoff = time.time() - max_age_s
    for entry in folder.glob(".*"):
        if not (entry.name.endswith(".tmp") or entry.name.startswith(".download-")):
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


# --------------------------------------------------------------------------- HTTP


class _HTTPConnection(http.client.HTTPConnection):
    """Connects within the request's (short) timeout, then allows longer read stalls."""

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(READ_TIMEOUT)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(READ_TIMEOUT)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=getattr(self, "_context", None))


def _opener() -> urllib.request.OpenerDirector:
    # build_opener keeps the default proxy and redirect handlers and swaps in ours.
    return urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def download(url: str, dest: Path, progress: Progress, sha256: str | None = None) -> Path:
    """Download ``url`` to ``dest`` (atomically) and return ``dest``.

    Raises :class:`FetchError` on a connection failure, a non-200 status, a short
    body, or (when ``sha256`` is given) a content hash mismatch.
    """
    label = url.rsplit("/", 1)[-1]
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with _opener().open(request, timeout=CONNECT_TIMEOUT) as response:
            if response.status != 200:
                raise FetchError(f"{url}: HTTP {response.status}")
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with atomic_write(dest) as out:
                _copy_with_progress(response, out, label, total, progress)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: {_describe_error(exc)}") from exc
    if sha256 is not None:
        check_sha256(dest, sha256, what=url)
    return dest


def _copy_with_progress(src: IO[bytes], out: IO[bytes], label: str, total: int | None,
                        progress: Progress) -> int:
    done = 0
    for block in iter(lambda: src.read(CHUNK), b""):
        out.write(block)
        done += len(block)
        progress.transfer(label, done, total)
    progress.transfer(label, done, total, final=True)
    if total is not None and done != total:
        raise FetchError(f"{label}: connection closed after {done} of {total} bytes")
    return done


def check_sha256(path: Path, expected: str, what: str) -> None:
    """Raise :class:`FetchError` (and delete nothing) when ``path`` does not hash to ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise FetchError(f"{what}: sha256 {actual[:16]}… is not the expected {expected[:16]}…")


# --------------------------------------------------------------------------- subprocesses


def run_command(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None,
                timeout: float | None = None) -> None:
    """Run ``argv`` in ``cwd`` with a timeout; raise :class:`FetchError` if it fails."""
    if shutil.which(argv[0]) is None:
        raise FetchError(f"`{argv[0]}` is not installed")
    try:
        subprocess.run(list(argv), cwd=cwd, env={**os.environ, **(env or {})}, check=True,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=COMMAND_TIMEOUT if timeout is None else timeout)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"`{' '.join(argv)}` timed out after {exc.timeout:.0f} s") from exc
    except subprocess.CalledProcessError as exc:
        lines = (exc.stderr or exc.stdout or "").strip().splitlines()
        last = lines[-1] if lines else f"exit status {exc.returncode}"
        raise FetchError(f"`{' '.join(argv)}` failed: {last}") from exc
    except OSError as exc:
        raise FetchError(f"`{argv[0]}` could not be started: {exc}") from exc


# --------------------------------------------------------------------------- archives


def extract_from_tar(archive: Path | IO[bytes], folder: str, names: Sequence[str],
                     dest: Path) -> dict[str, Path]:
    """Copy the members ``folder/<name>`` of a (compressed) tar archive into ``dest``."""
    wanted = {f"{folder.strip('./')}/{name}": name for name in names}
    found: dict[str, Path] = {}
    opened = tarfile.open(archive, "r:*") if isinstance(archive, Path) else \
        tarfile.open(fileobj=archive, mode="r:*")
    with opened as tar:
        for member in tar:
            name = wanted.get(member.name.lstrip("./"))
            if name is None or not member.isfile():
                continue
            source = tar.extractfile(member)
            assert source is not None
            with atomic_write(dest / name) as out:
                shutil.copyfileobj(source, out, CHUNK)
            found[name] = dest / name
    missing = [name for name in names if name not in found]
    if missing:
        raise FetchError(f"{getattr(archive, 'name', archive)}: no {', '.join(missing)} under {folder}/")
    return found


def ar_members(path: Path) -> dict[str, bytes]:
    """The members of a Unix ``ar`` archive (the container format of a Debian ``.deb``)."""
    data = path.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise FetchError(f"{path.name}: not a Debian package (no ar header)")
    members: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        try:
            name = header[:16].decode("ascii").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
        except ValueError as exc:   # a non-ASCII name or a size that is not a number
            raise FetchError(f"{path.name}: damaged member header at byte {pos} ({exc})") from exc
        if size < 0 or pos + 60 + size > len(data):
            raise FetchError(f"{path.name}: member {name!r} says {size:,} bytes, but the file ends "
                             f"{len(data) - pos - 60:,} bytes later (truncated download?)")
        members[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)  # members are aligned to even offsets
    return members


def extract_from_deb(deb: Path, folder: str, names: Sequence[str], dest: Path) -> dict[str, Path]:
    """Copy ``folder/<name>`` files out of a ``.deb``'s data archive into ``dest``.

    Pure Python for ``data.tar.{xz,gz,bz2}``; ``dpkg-deb`` is used for other
    compressions (e.g. zstd on Ubuntu).
    """
    members = ar_members(deb)
    payload = next((members[n] for n in members if n in
                    ("data.tar.xz", "data.tar.gz", "data.tar.bz2", "data.tar")), None)
    if payload is not None:
        return extract_from_tar(io.BytesIO(payload), folder, names, dest)
    unpacked = dest / "deb-root"
    run_command(["dpkg-deb", "-x", str(deb), str(unpacked)], cwd=dest)
    found = {name: unpacked / folder.strip("/") / name for name in names}
    missing = [name for name, path in found.items() if not path.is_file()]
    if missing:
        raise FetchError(f"{deb.name}: no {', '.join(missing)} under {folder}/")
    return found


def newest(folder: Path, pattern: str) -> Path:
    """The most recently modified file in ``folder`` matching ``pattern``."""
    matches = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not matches:
        raise FetchError(f"no {pattern} was written")
    return matches[-1]

