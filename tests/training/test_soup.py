"""scripts/soup_models.py: averaging models trained from one base, BatchNorm re-estimated, written only if better."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import torch

from htrgui.core.recognition.checkpoint import load_checkpoint
from htrgui.core.recognition.preprocess import batch_lines
from htrgui.core.training.data import TRAIN_MULTIPLE
from htrgui.core.training.trainer import TrainConfig, train
from htrgui.core.training.augment import AugmentConfig
from tests.conftest import REPO


def _script():
    spec = importlib.util.spec_from_file_location("soup_models", REPO / "scripts" / "soup_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tiny_runs(lines, tmp_path):
    """A base and two 3-step runs from it with different seeds (what the soup is for)."""
    cfg = dict(config="tiny", warmup_steps=1, lr=3e-3, batch_columns=40000, max_batch_lines=64,
               augment=AugmentConfig.off(), val_every_minutes=1e9, checkpoint_every_minutes=1e9)
    for _ in train(lines, None, tmp_path / "base.pt", TrainConfig(max_steps=4, **cfg)):
        pass
    out = []
    for seed in (1, 2):
        path = tmp_path / f"run{seed}.pt"
        for _ in train(lines, None, path, TrainConfig(max_steps=3, seed=seed, **cfg), base=str(tmp_path / "base.pt")):
            pass
        out.append(path)
    return out


def test_average_and_batchnorm_re_estimation_on_real_lines(narrow_lines, tmp_path):
    soup = _script()
    a, b = (load_checkpoint(p) for p in _tiny_runs(narrow_lines, tmp_path))
    mean = soup.average([a.model.state_dict(), b.model.state_dict()])
    key = "head.weight"
    assert torch.allclose(mean[key], (a.model.state_dict()[key] + b.model.state_dict()[key]) / 2)
    assert not torch.equal(a.model.state_dict()[key], b.model.state_dict()[key])
    # one batch: every BatchNorm's running mean is then exactly the mean of what reached it in that batch
    model = a.model
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    seen = {}
    hook = bn.register_forward_hook(lambda m, inp, out: seen.setdefault("x", inp[0].detach().clone()))
    n = soup.recalibrate_bn(model, narrow_lines, batches=1)
    hook.remove()
    assert 0 < n <= 16
    assert torch.allclose(bn.running_mean, seen["x"].mean(dim=(0, 2, 3)), atol=1e-5)
    assert bn.momentum == 0.1 and not model.training
    x, w = batch_lines(narrow_lines.images[:2], TRAIN_MULTIPLE)
    assert torch.isfinite(model(x, w)[0]).all()


def test_runs_differing_only_in_dropout_average_other_configs_do_not():
    from dataclasses import replace

    from htrgui.core.recognition.model import CONFIGS

    soup, cfg = _script(), CONFIGS["small"]
    assert soup.same_architecture(replace(cfg, dropout=0.0, attn_dropout=0.0, drop_path=0.0), cfg)
    assert not soup.same_architecture(replace(cfg, depth=cfg.depth + 2), cfg)
    assert not soup.same_architecture(CONFIGS["tiny"], cfg)


def test_soup_provenance_counts_every_ingredients_training(narrow_lines, tmp_path):
    soup = _script()
    loaded = [load_checkpoint(p) for p in _tiny_runs(narrow_lines, tmp_path)]
    prov = soup.soup_provenance(loaded, "soup (averaged BatchNorm statistics)", 0.5)
    # each run made 3 steps from the base: the soup cost 6, and says which runs and how each went
    assert prov["steps"] == 6 and [r["steps"] for r in prov["ingredients"]] == [3, 3]
    assert prov["train_minutes"] == round(sum(m.provenance["train_minutes"] for m in loaded), 1)
    assert prov["soup_of"] == [str(m.path) for m in loaded] and prov["val_cer"] == 0.5
    assert loaded[0].provenance["steps"] == 3  # the ingredient's own provenance is left alone
    assert "date" in loaded[0].provenance and "date" not in prov  # written with the soup's date, not the run's
    # the runs' base averaged in as a third ingredient: listed, but its 4 steps were the previous phase's
    base = load_checkpoint(tmp_path / "base.pt")
    with_base = soup.soup_provenance([*loaded, base], "soup", 0.4, base=tmp_path / "base.pt")
    assert with_base["steps"] == 6 and with_base["ingredients"][2] == dict(
        {k: base.provenance.get(k) for k in ("steps", "epochs", "train_minutes", "val_cer", "command")},
        path=str(base.path), base=True)
    assert base.provenance["steps"] == 4 and "base" not in with_base["ingredients"][0]
    assert soup.soup_provenance([*loaded, base], "soup", 0.4)["steps"] == 10  # no base named: every one counts


def test_soup_is_written_only_when_it_beats_every_ingredient(narrow_lines, tmp_path):
    runs = _tiny_runs(narrow_lines, tmp_path)
    val = tmp_path / "val.npz"
    narrow_lines.save(val)
    out = tmp_path / "soup.pt"
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "soup_models.py"), *map(str, runs), "-o", str(out),
                          "--val", str(val), "--bn-lines", str(val), "--bn-batches", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    cers = report["cer"]
    assert set(cers) >= {"run1.pt", "run2.pt", "soup (averaged BatchNorm statistics)"} and len(cers) == 4
    if report["chosen"]:
        assert cers[report["chosen"]] < min(cers["run1.pt"], cers["run2.pt"])
        assert load_checkpoint(out).provenance["soup_of"] == [str(p) for p in runs]
    else:
        assert not out.exists()
    # with --ship-from the soup must also beat the model it would replace: here the first soup itself (when
    # written), which the same soup can only tie, or the runs' base
    base = out if report["chosen"] else tmp_path / "base.pt"
    shipped = subprocess.run([sys.executable, str(REPO / "scripts" / "soup_models.py"), *map(str, runs), "-o",
                              str(tmp_path / "ship.pt"), "--val", str(val), "--bn-lines", str(val), "--bn-batches",
                              "2", "--ship-from", str(base)], capture_output=True, text=True, timeout=300)
    assert shipped.returncode == 0, shipped.stderr[-2000:]
    ship = json.loads(shipped.stdout)
    base_cer = ship["cer"][f"{base.name} (--ship-from)"]
    if report["chosen"]:
        assert base_cer == cers[report["chosen"]] and ship["chosen"] is None
    if ship["chosen"]:
        assert ship["cer"][ship["chosen"]] < base_cer
    assert (tmp_path / "ship.pt").exists() == bool(ship["chosen"])
    # a model averaged with itself reads exactly as it does: not better, so nothing is written
    same = subprocess.run([sys.executable, str(REPO / "scripts" / "soup_models.py"), str(runs[0]), str(runs[0]),
                           "-o", str(tmp_path / "same.pt"), "--val", str(val)], capture_output=True, text=True,
                          timeout=300)
    assert same.returncode == 0, same.stderr[-2000:]
    echo = json.loads(same.stdout)
    assert echo["chosen"] is None and not (tmp_path / "same.pt").exists()
    assert echo["cer"]["soup (averaged BatchNorm statistics)"] == echo["cer"]["run1.pt"]
    # models of other alphabets or architectures are refused with a message
    other = tmp_path / "other.pt"
    for _ in train(narrow_lines.subset(range(5)), None, other,
                   TrainConfig(config="tiny", max_steps=1, augment=AugmentConfig.off())):
        pass
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "soup_models.py"), str(runs[0]), str(other), "-o",
                          str(tmp_path / "x.pt"), "--val", str(val)], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "another architecture or alphabet" in run.stderr


def test_ship_from_makes_the_soup_the_next_phase_of_its_base(narrow_lines, tmp_path):
    from dataclasses import replace

    soup = _script()
    runs = _tiny_runs(narrow_lines, tmp_path)
    base = load_checkpoint(tmp_path / "base.pt")
    base.provenance["phase"] = 9
    base.config = replace(base.config, dropout=0.1, attn_dropout=0.1, drop_path=0.05)  # the tiny config has none
    loaded = [load_checkpoint(p) for p in runs]
    prov = soup.soup_provenance(loaded, "soup (averaged BatchNorm statistics)", 0.4)
    trained = replace(loaded[0].config, dropout=0.0, attn_dropout=0.0, drop_path=0.0)  # runs with --dropout 0
    config, shipped = soup.ship_from(base, trained, prov, "models/base.pt of git abc", "python ...")
    # the file keeps the base's regularisation for the one-click fine-tune, and says what training used
    assert (config.dropout, config.attn_dropout, config.drop_path) == (
        base.config.dropout, base.config.attn_dropout, base.config.drop_path)
    assert base.config.dropout > 0 and "dropout 0.0" in shipped["regularisation"]
    assert replace(config, dropout=0.0, attn_dropout=0.0, drop_path=0.0) == trained  # nothing else changed
    assert shipped["phase"] == 10 and shipped["base_path"] == "models/base.pt of git abc (phase 9)"
    assert shipped["command"] == "python ..." and shipped["name"] == base.name and shipped["steps"] == 6
    # runs that kept the base's regularisation need no note; a base without a phase gets none either
    del base.provenance["phase"]
    kept = replace(loaded[0].config, dropout=0.1, attn_dropout=0.1, drop_path=0.05)
    config, again = soup.ship_from(base, kept, prov)
    assert config == kept and "regularisation" not in again and "phase" not in again
    assert again["base_path"] == str(base.path)
