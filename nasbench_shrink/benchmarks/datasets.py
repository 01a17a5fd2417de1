"""Data set loaders. Every loader returns whole tensors (``uint8`` images N×C×H×W and ``int64`` labels).

- ``digits``: scikit-learn's bundled 8×8 digits — embedded, never downloaded.
- ``cifar10``: the canonical ``cifar-10-python.tar.gz`` (or its extracted ``cifar-10-batches-py/``), downloaded
  with its md5 checked when absent; or an ImageFolder layout (``train/<class>/*``, ``test/<class>/*``) as a
  directory or a ``.tar.gz`` of one. Decoded ImageFolder archives are cached as ``.npz`` under the user cache dir.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nasbench_shrink.errors import DataError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DATA_ENV = "NASBENCH_SHRINK_DATA"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class ImageSet:
    """Images as one ``uint8`` tensor (N, C, H, W) and labels as one ``int64`` tensor (N,)."""

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, idx: np.ndarray | torch.Tensor) -> ImageSet:
        idx_t = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return ImageSet(self.x[idx_t], self.y[idx_t], self.classes)


@dataclass
class ImageData:
    """A data set's official splits (``test`` may be ``None`` for single-pool sets like digits)."""

    name: str
    train: ImageSet
    test: ImageSet | None


def user_cache_dir() -> Path:
    return Path(os.environ.get("NASBENCH_SHRINK_CACHE", Path.home() / ".cache" / "nasbench-shrink"))


def default_data_dir() -> Path:
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else user_cache_dir() / "data"


# ---------------------------------------------------------------------------------------------- digits
def load_digits() -> ImageData:
    """scikit-learn's 1,797 8×8 digits, scaled from 0..16 to 0..255, as one pool (splits are made later)."""
    from sklearn.datasets import load_digits as sk_load

    d = sk_load()
    x = np.clip(np.rint(d.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None, :, :]
    classes = tuple(str(c) for c in range(10))
    return ImageData(
        "digits", ImageSet(torch.from_numpy(x), torch.from_numpy(d.target.astype(np.int64)), classes), None
    )


# ---------------------------------------------------------------------------------------------- CIFAR-10
def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _cifar_from_batches(read) -> ImageData:
    """Build CIFAR-10 from a ``read(name) -> bytes`` over the python-version batch files."""

    def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            d = pickle.loads(read(name), encoding="bytes")
            return (
                np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32),
                np.asarray(d[b"labels"], dtype=np.int64),
            )
        except (pickle.UnpicklingError, KeyError, EOFError, ValueError) as exc:
            raise DataError(
                f"CIFAR-10 batch {name} is corrupt ({exc}); delete it and download the archive again"
            ) from exc

    parts = [batch(f"data_batch_{k}") for k in range(1, 6)]
    tx, ty = batch("test_batch")
    train = ImageSet(
        torch.from_numpy(np.concatenate([p[0] for p in parts])),
        torch.from_numpy(np.concatenate([p[1] for p in parts])),
        CIFAR10_CLASSES,
    )
    return ImageData("cifar10", train, ImageSet(torch.from_numpy(tx), torch.from_numpy(ty), CIFAR10_CLASSES))


def load_cifar10_archive(path: Path, check_md5: bool = True) -> ImageData:
    """The canonical ``cifar-10-python.tar.gz``."""
    if check_md5:
        digest = md5sum(path)
        if digest != CIFAR10_MD5:
            raise DataError(
                f"{path} has md5 {digest}, expected {CIFAR10_MD5}; delete it and download {CIFAR10_URL} again"
            )
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}

            def read(name: str) -> bytes:
                if name not in members:
                    raise DataError(f"{path} lacks {name}; it is not the CIFAR-10 python archive")
                return tar.extractfile(members[name]).read()

            return _cifar_from_batches(read)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable .tar.gz ({exc}); delete it and download it again") from exc


def load_cifar10_batches_dir(path: Path) -> ImageData:
    """The extracted ``cifar-10-batches-py/`` directory."""

    def read(name: str) -> bytes:
        f = path / name
        if not f.is_file():
            raise DataError(f"{path} lacks {name}; extract {CIFAR10_ARCHIVE} there again")
        return f.read_bytes()

    return _cifar_from_batches(read)


def download_cifar10(dest_dir: Path) -> Path:
    """Download the canonical archive into ``dest_dir`` and check its md5."""
    target = dest_dir / CIFAR10_ARCHIVE
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        with urllib.request.urlopen(CIFAR10_URL, timeout=30) as resp, open(tmp, "wb") as out:
            while block := resp.read(1 << 20):
                out.write(block)
    except OSError as exc:
        raise DataError(
            f"CIFAR-10 not found and could not be downloaded ({exc.__class__.__name__}); "
            f"place {CIFAR10_ARCHIVE} (from {CIFAR10_URL}) in {dest_dir} or pass --data-dir"
        ) from exc
    digest = md5sum(tmp)
    if digest != CIFAR10_MD5:
        tmp.unlink(missing_ok=True)
        raise DataError(f"downloaded {CIFAR10_ARCHIVE} has md5 {digest}, expected {CIFAR10_MD5}; try again")
    tmp.replace(target)
    return target


# ---------------------------------------------------------------------------------------------- ImageFolder
def _decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)


def _pack(split_files: dict[str, list[tuple[str, str, bytes]]]) -> dict[str, np.ndarray]:
    classes = sorted({c for files in split_files.values() for c, _, _ in files})
    out: dict[str, np.ndarray] = {"classes": np.array(classes)}
    for split, files in split_files.items():
        files.sort(key=lambda t: (t[0], t[1]))
        if files:
            out[f"{split}_x"] = np.stack([_decode(b) for _, _, b in files])
            out[f"{split}_y"] = np.array([classes.index(c) for c, _, _ in files], dtype=np.int64)
    return out


def _scan_tar(path: Path) -> dict[str, list[tuple[str, str, bytes]]]:
    found: dict[str, list[tuple[str, str, bytes]]] = {"train": [], "test": []}
    try:
        with tarfile.open(path, "r:*") as tar:
            for m in tar:
                if not m.isfile() or not m.name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                parts = Path(m.name).parts
                split_pos = [k for k, p in enumerate(parts) if p in found]
                if not split_pos or len(parts) - split_pos[-1] != 3:
                    continue
                k = split_pos[-1]
                found[parts[k]].append((parts[k + 1], parts[k + 2], tar.extractfile(m).read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable tar archive ({exc}); replace it with a good copy") from exc
    return found


def _scan_dir(path: Path) -> dict[str, list[tuple[str, str, bytes]]]:
    found: dict[str, list[tuple[str, str, bytes]]] = {"train": [], "test": []}
    for split in found:
        for f in sorted((path / split).glob("*/*")):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                found[split].append((f.parent.name, f.name, f.read_bytes()))
    return found


def load_imagefolder(path: Path, name: str = "imagefolder") -> ImageData:
    """An ImageFolder tree (``train/<class>/*``, ``test/<class>/*``), as a directory or a tar(.gz) of one."""
    path = Path(path)
    stat = path.stat()
    tag = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cache_file = user_cache_dir() / f"imagefolder-{tag}.npz"
    arrays = None
    if cache_file.is_file():
        try:
            with np.load(cache_file) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):
            arrays = None
    if arrays is None:
        found = _scan_dir(path) if path.is_dir() else _scan_tar(path)
        if not found["train"]:
            raise DataError(
                f"{path} holds no images under train/<class>/; expected an ImageFolder layout "
                "train/<class>/*.jpg and test/<class>/*.jpg"
            )
        try:
            arrays = _pack(found)
        except OSError as exc:
            raise DataError(
                f"an image in {path} cannot be decoded ({exc}); replace the archive with a good copy"
            ) from exc
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            tmp.replace(cache_file)
        except OSError:
            pass  # the decode cache is an optimisation only
    classes = tuple(str(c) for c in arrays["classes"])

    def image_set(split: str) -> ImageSet | None:
        if f"{split}_x" not in arrays:
            return None
        return ImageSet(torch.from_numpy(arrays[f"{split}_x"]), torch.from_numpy(arrays[f"{split}_y"]), classes)

    return ImageData(name, image_set("train"), image_set("test"))


def find_cifar10(data_dir: Path | None) -> ImageData:
    """Locate CIFAR-10 in ``data_dir`` (canonical archive, batches dir, or ImageFolder), else download it."""
    explicit = data_dir is not None or DATA_ENV in os.environ
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if explicit and not root.exists():
        raise DataError(f"data directory {root} does not exist; create it or pass an existing --data-dir")
    if root.is_file():
        if root.name == CIFAR10_ARCHIVE:
            return load_cifar10_archive(root)
        return load_imagefolder(root, "cifar10")
    for base in (root, root / "cifar10"):
        if (base / CIFAR10_ARCHIVE).is_file():
            return load_cifar10_archive(base / CIFAR10_ARCHIVE)
        if (base / "cifar-10-batches-py").is_dir():
            return load_cifar10_batches_dir(base / "cifar-10-batches-py")
        if (base / "cifar10-jpeg.tar.gz").is_file():
            return load_imagefolder(base / "cifar10-jpeg.tar.gz", "cifar10")
        if (base / "train").is_dir() and (base / "test").is_dir():
            return load_imagefolder(base, "cifar10")
    return load_cifar10_archive(download_cifar10(root))


def area_downsample(x: torch.Tensor, size: int) -> torch.Tensor:
    """Downsample ``uint8`` images (N, C, H, W) to ``size`` × ``size`` by averaging each block of pixels (area
    interpolation), rounded back to ``uint8``. H and W must be multiples of ``size``."""
    h, w = x.shape[-2:]
    if h % size or w % size:
        raise DataError(f"cannot area-average {h}x{w} images to {size}x{size}; use a size that divides {h}")
    out = torch.nn.functional.avg_pool2d(x.float(), kernel_size=(h // size, w // size))
    return out.round_().clamp_(0, 255).to(torch.uint8)


def downsampled_cifar10(size: int, data_dir: Path | None = None) -> ImageData:
    """CIFAR-10 at ``size`` × ``size``, computed once from the full images and kept under the user cache
    directory (the downsampled arrays are 16× smaller at 8× less work to read)."""
    source = Path(data_dir).resolve() if data_dir is not None else default_data_dir()
    tag = hashlib.sha1(str(source).encode()).hexdigest()[:10]
    path = user_cache_dir() / "downsampled" / f"cifar10-{size}-{tag}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            classes = tuple(str(c) for c in z["classes"])
            train = ImageSet(torch.from_numpy(z["xtr"]), torch.from_numpy(z["ytr"]), classes)
            return ImageData(
                f"cifar10-{size}", train, ImageSet(torch.from_numpy(z["xte"]), torch.from_numpy(z["yte"]), classes)
            )
    full = find_cifar10(data_dir)
    assert full.test is not None
    train = ImageSet(area_downsample(full.train.x, size), full.train.y, full.train.classes)
    test = ImageSet(area_downsample(full.test.x, size), full.test.y, full.test.classes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        xtr=train.x.numpy(),
        ytr=train.y.numpy(),
        xte=test.x.numpy(),
        yte=test.y.numpy(),
        classes=np.array(train.classes),
    )
    tmp.replace(path)  # atomic: workers starting together never read a half-written file
    return ImageData(f"cifar10-{size}", train, test)


def load_dataset(name: str, data_dir: Path | None = None) -> ImageData:
    """``digits``, ``cifar10``, or ``cifar10-<size>`` (CIFAR-10 area-averaged to size × size, e.g. ``cifar10-16``)."""
    if name == "digits":
        return load_digits()
    if name == "cifar10":
        return find_cifar10(data_dir)
    if name.startswith("cifar10-") and name[len("cifar10-") :].isdigit():
        return downsampled_cifar10(int(name[len("cifar10-") :]), data_dir)
    raise DataError(f"unknown data set {name!r}; expected 'digits', 'cifar10' or 'cifar10-<size>'")
