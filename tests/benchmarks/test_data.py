import io
import pickle
import tarfile
import urllib.request
from collections import Counter

import numpy as np
import pytest
import torch

from nasbench_shrink.benchmarks import datasets
from nasbench_shrink.benchmarks.datasets import find_cifar10, load_cifar10_archive, load_digits, load_imagefolder
from nasbench_shrink.benchmarks.splits import SplitSpec, make_splits
from nasbench_shrink.errors import DataError


def test_digits_are_tensors():
    d = load_digits()
    assert d.train.x.dtype == torch.uint8 and d.train.x.shape == (1797, 1, 8, 8)
    assert d.train.y.dtype == torch.int64 and int(d.train.x.max()) == 255
    assert d.test is None


def test_digits_splits_are_stratified_disjoint_and_seeded():
    d = load_digits()
    spec = SplitSpec(train_per_class=40, val_per_class=40, test_per_class=50, seed=0)
    s = make_splits(d, spec)
    assert len(s.proxy_train) == 400 and len(s.proxy_val) == 400 and len(s.final_test) == 500
    assert torch.bincount(s.proxy_train.y).tolist() == [40] * 10
    assert torch.bincount(s.final_test.y).tolist() == [50] * 10
    keys = lambda part: {bytes(x.numpy()) for x in part.x}  # noqa: E731
    # digits repeats a few images: pixels may be shared across splits only where the data set itself repeats them
    # (disjoint indices are checked by test_split_indices_do_not_overlap)
    counts = Counter(bytes(x.numpy()) for x in d.train.x)
    assert all(counts[k] > 1 for k in keys(s.final_test) & keys(s.proxy_val))
    assert len(s.final_train) == 1797 - 500
    again = make_splits(d, spec)
    assert torch.equal(again.proxy_train.x, s.proxy_train.x)
    other = make_splits(d, SplitSpec(40, 40, 50, seed=1))
    assert not torch.equal(other.proxy_train.x, s.proxy_train.x)


def test_split_indices_do_not_overlap():
    d = load_digits()
    d.train.x = torch.arange(len(d.train)).view(-1, 1, 1, 1).expand(-1, 1, 8, 8).contiguous()  # x encodes index
    s = make_splits(d, SplitSpec(40, 40, 50, seed=0))
    ids = lambda part: set(part.x[:, 0, 0, 0].tolist())  # noqa: E731
    assert not ids(s.proxy_train) & ids(s.proxy_val)
    assert not (ids(s.proxy_train) | ids(s.proxy_val)) & ids(s.final_test)


def _fake_cifar_archive(path, n_per_batch=20, corrupt=False):
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            payload = {
                b"data": rng.integers(0, 255, (n_per_batch, 3072), dtype=np.uint8),
                b"labels": [i % 10 for i in range(n_per_batch)],
            }
            raw = b"garbage" if corrupt else pickle.dumps(payload)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def test_canonical_archive_loader(tmp_path, monkeypatch):
    path = tmp_path / "cifar-10-python.tar.gz"
    _fake_cifar_archive(path)
    d = load_cifar10_archive(path, check_md5=False)
    assert d.train.x.shape == (100, 3, 32, 32) and d.test.x.shape == (20, 3, 32, 32)
    with pytest.raises(DataError, match="md5"):
        load_cifar10_archive(path)  # the fake archive cannot have the official md5
    monkeypatch.setattr(datasets, "CIFAR10_MD5", datasets.md5sum(path))
    assert len(find_cifar10(tmp_path).train) == 100


def test_corrupt_archives_are_data_errors(tmp_path, monkeypatch):
    bad = tmp_path / "cifar-10-python.tar.gz"
    _fake_cifar_archive(bad, corrupt=True)
    with pytest.raises(DataError, match="corrupt"):
        load_cifar10_archive(bad, check_md5=False)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball at all")
    with pytest.raises(DataError, match="not a readable"):
        load_imagefolder(junk)


def test_no_network_gives_one_clear_error(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match=r"place cifar-10-python\.tar\.gz"):
        find_cifar10(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        find_cifar10(tmp_path / "missing")


def test_imagefolder_directory(tmp_path):
    from PIL import Image

    for split, n in (("train", 3), ("test", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for k in range(n):
                Image.new("RGB", (8, 8), (k * 40, 0, 0)).save(tmp_path / split / cls / f"{k}.png")
    d = load_imagefolder(tmp_path)
    assert d.train.x.shape == (6, 3, 8, 8) and d.test.x.shape == (4, 3, 8, 8)
    assert d.train.classes == ("cat", "dog") and d.train.y.tolist() == [0, 0, 0, 1, 1, 1]


def test_shared_cifar10_imagefolder_tarball(shared_data):
    d = find_cifar10(shared_data)
    assert d.train.x.shape == (50000, 3, 32, 32) and d.test.x.shape == (10000, 3, 32, 32)
    assert d.train.classes == datasets.CIFAR10_CLASSES
    assert torch.bincount(d.test.y).tolist() == [1000] * 10
    s = make_splits(d, SplitSpec(train_per_class=500, val_per_class=100, seed=0))
    assert torch.bincount(s.proxy_train.y).tolist() == [500] * 10
    assert torch.bincount(s.proxy_val.y).tolist() == [100] * 10
    assert len(s.final_test) == 9000 and len(s.final_train) == 50000


def test_area_downsampling_keeps_constants_and_averages_blocks():
    from nasbench_shrink.benchmarks.datasets import area_downsample

    const = torch.full((2, 3, 32, 32), 77, dtype=torch.uint8)
    assert torch.equal(area_downsample(const, 16), torch.full((2, 3, 16, 16), 77, dtype=torch.uint8))
    x = torch.tensor([[[[0, 10, 1, 1], [20, 30, 1, 2], [5, 5, 255, 255], [5, 5, 255, 254]]]], dtype=torch.uint8)
    assert area_downsample(x, 2).tolist() == [[[[15, 1], [5, 255]]]]  # 1.25 -> 1, 254.75 -> 255
    with pytest.raises(DataError, match="divides"):
        area_downsample(const, 12)


def test_downsampled_cifar10_is_cached_once(tmp_path, monkeypatch):
    path = tmp_path / "cifar-10-python.tar.gz"
    _fake_cifar_archive(path)
    monkeypatch.setattr(datasets, "CIFAR10_MD5", datasets.md5sum(path))
    d = datasets.load_dataset("cifar10-16", tmp_path)
    assert d.train.x.shape == (100, 3, 16, 16) and d.test.x.shape == (20, 3, 16, 16)
    full = find_cifar10(tmp_path)
    assert torch.equal(d.train.x, datasets.area_downsample(full.train.x, 16))
    path.unlink()  # the second load reads the cached arrays, not the archive
    again = datasets.load_dataset("cifar10-16", tmp_path)
    assert torch.equal(again.train.x, d.train.x) and torch.equal(again.test.y, d.test.y)


def test_cifar10_small_split_sizes(shared_data):
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.networks import benchmark_splits

    bench = get_benchmark("cifar10-small")
    s = benchmark_splits(bench, shared_data)
    per_class = bench.split.train_per_class
    assert s.proxy_train.x.shape[1:] == (3, 16, 16)
    assert torch.bincount(s.proxy_train.y).tolist() == [per_class] * 10
    assert torch.bincount(s.proxy_val.y).tolist() == [100] * 10
    assert len(s.final_test) == 9000 and len(s.final_train) == 50000
