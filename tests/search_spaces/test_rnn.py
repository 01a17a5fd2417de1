import math

import pytest
import torch

from nasbench_shrink.benchmarks.ptb import batchify, find_ptb, load_corpus
from nasbench_shrink.errors import DataError
from nasbench_shrink.evaluation.lm import evaluate_lm
from search_spaces import Cell, complete_cell
from search_spaces.rnn import RNNConfig, build_rnn, rnn_params

TOY = RNNConfig(vocab_size=50, emb_size=16, hidden_size=16)


def test_forward_on_a_toy_vocabulary():
    torch.manual_seed(0)
    model = build_rnn(complete_cell("rnn", 5, seed=0), TOY)
    words = torch.randint(0, 50, (7, 3))
    logits, h = model(words, model.init_hidden(3))
    assert logits.shape == (7, 3, 50) and h.shape == (3, 16)
    other = words.clone()
    other[0] = (other[0] + 1) % 50
    assert not torch.allclose(model(other, model.init_hidden(3))[0][-1], logits[-1])  # the state carries input


def test_gradients_reach_every_active_edge_and_no_pruned_edge():
    # node 2 has no input: its out-edge (2, 3) is dead
    cell = Cell("rnn", 5, [(0, 1), (1, 3), (2, 3), (0, 4), (3, 4)], ["input", "tanh", "relu", "sigmoid", "identity"])
    model = build_rnn(cell, TOY)
    H = TOY.hidden_size
    per_source = {i: w.shape[1] // (2 * H) for i, w in model.cell.w.items()}
    assert per_source == {"0": 2, "1": 1, "3": 1}  # 4 active edges; node 2 has no weights at all
    words = torch.randint(0, 50, (6, 2))
    logits, _ = model(words, model.init_hidden(2))
    logits.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert sum(p.numel() for p in model.parameters()) == rnn_params(cell, TOY)


def test_untrained_perplexity_is_about_the_vocabulary_size():
    torch.manual_seed(0)
    model = build_rnn(complete_cell("rnn", 6, seed=0), TOY)
    data = batchify(torch.randint(0, 50, (2000,)), 10)
    ppl, loss = evaluate_lm(model, data, bptt=20)
    assert abs(ppl - 50) / 50 < 0.05 and abs(loss - math.log(50)) < 0.05


def test_params_match_the_paper_for_n6():
    cfg = RNNConfig(vocab_size=10000, emb_size=200, hidden_size=200)
    complete = complete_cell("rnn", 6, seed=0)
    assert rnn_params(complete, cfg) == 3_370_000  # paper §4.3: 3.37 M for the complete N=6 cell
    eight = Cell("rnn", 6, [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (1, 4), (4, 5), (2, 5)], complete.ops)
    assert rnn_params(eight, cfg) == 2_810_000  # paper: 2.8 M at 8 edges
    assert sum(p.numel() for p in build_rnn(complete, cfg).parameters()) == 3_370_000


def test_corpus_loader_on_a_toy_directory(tmp_path):
    (tmp_path / "ptb.train.txt").write_text(" the cat sat \n the dog \n")
    (tmp_path / "ptb.valid.txt").write_text(" the bird sat \n")
    (tmp_path / "ptb.test.txt").write_text(" a cat \n")
    c = load_corpus(tmp_path)
    assert set(c.vocab) == {"the", "cat", "sat", "dog", "<eos>", "<unk>"}
    assert c.train.numel() == 7  # two lines, <eos> after each
    unk = c.vocab.index("<unk>")
    assert c.valid.tolist().count(unk) == 1 and c.test.tolist().count(unk) == 1
    with pytest.raises(DataError, match="lacks"):
        load_corpus(tmp_path, "proxy")


def test_shared_ptb_proxy_corpus(shared_data):
    c = find_ptb(str(shared_data), "proxy")
    lines = (shared_data / "ptb" / "proxy.train.txt").read_text().splitlines()
    assert c.train.numel() == sum(len(ln.split()) + 1 for ln in lines if ln.split())
    assert 5000 < c.vocab_size <= 10000 and "<eos>" in c.vocab
    b = batchify(c.train, 32)
    assert b.shape[1] == 32 and b.dtype == torch.long


def test_download_checksums_match_the_shared_copies(shared_data):
    import hashlib

    from nasbench_shrink.benchmarks.ptb import PTB_MD5

    for name in ("ptb.valid.txt", "ptb.test.txt"):
        assert hashlib.md5((shared_data / "ptb" / name).read_bytes()).hexdigest() == PTB_MD5[name]


def test_offline_ptb_gives_one_clear_error(tmp_path, monkeypatch):
    import urllib.request

    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    find_ptb.cache_clear()
    with pytest.raises(DataError, match=r"place ptb\.train\.txt"):
        find_ptb(str(tmp_path))
