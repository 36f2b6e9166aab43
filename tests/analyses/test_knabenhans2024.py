"""Seed 002's replication: split, design, CLI without data, and the whole run on a made-up data root."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.analyses.fairness import FairnessConfig
from artifactual.analyses.knabenhans2024 import Knabenhans2024Config, age_band, age_decade, split_indices


def test_split_is_stratified_disjoint_and_sized_as_the_seed():
    y = np.r_[np.zeros(600, int), np.ones(400, int)]
    s = split_indices(y, Knabenhans2024Config())
    assert len(s["test"]) == 200 and len(s["validation"]) == 80 and len(s["train"]) == 720
    assert not set(s["train"]) & set(s["test"]) and not set(s["train"]) & set(s["validation"])
    for part in s.values():
        assert abs(y[part].mean() - 0.4) < 0.02
    assert all(np.array_equal(s[k], split_indices(y, Knabenhans2024Config())[k]) for k in s)  # fixed seed


def test_age_decades_and_bands():
    ages = pd.Series([0, 9, 10, 79, 80, 116, None])
    assert age_decade(ages).tolist() == ["000-009", "000-009", "010-019", "070-079", "080-089", "110-119", None]
    bands = age_band(ages, (0, 20, 40, 60, 80)).tolist()
    assert bands[:6] == ["0-19", "0-19", "0-19", "60-79", "80+", "80+"] and pd.isna(bands[6])


def test_gender_balance_takes_whole_people_and_equal_numbers():
    from artifactual.replication.designs.knabenhans2024 import balance_genders

    rows = pd.DataFrame({"identity": [f"m{i // 2}" for i in range(40)] + [f"f{i}" for i in range(10)],
                         "gender": [0] * 40 + [1] * 10})
    out = balance_genders(rows, 0, np.random.default_rng(0))
    assert (out["gender"] == 0).sum() == (out["gender"] == 1).sum() == 10
    assert out[out["gender"] == 0].groupby("identity").size().tolist() == [2] * 5  # 5 men, both images each
    kept_men = out[out["gender"] == 0]["identity"].unique()
    assert all((rows["identity"] == m).sum() == (out["identity"] == m).sum() for m in kept_men)  # whole people
    assert (balance_genders(rows, 8, np.random.default_rng(0))["gender"] == 1).sum() == 4
    with pytest.raises(ValueError, match="only"):
        balance_genders(rows[rows["gender"] == 0], 0, np.random.default_rng(0))


def test_cli_without_real_data_names_the_data_root_it_needs(monkeypatch, capsys, tmp_path):
    from artifactual.app.cli import main

    monkeypatch.delenv("ARTIFACTUAL_DATA", raising=False)
    for extra in ([], ["--embedded"]):
        assert main(["replicate", "knabenhans2024", "--out", str(tmp_path / "k"), *extra]) == 2
        err = capsys.readouterr().err
        assert "--data-root" in err and "utkface/" in err and "lfw/" in err
    assert not (tmp_path / "k" / "summary.json").exists()


# -- the whole run on made-up faces -----------------------------------------------------------

def _image(rng, female: bool, size: int) -> np.ndarray:
    """Noise with a bright band for 'female', a dark one for 'male': a signal any model can find."""
    img = rng.integers(60, 160, (size, size, 3)).astype(np.uint8)
    band = slice(size // 3, size // 2)
    img[band, :, :] = 220 if female else 20
    return img


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("k_data")
    rng = np.random.default_rng(0)
    utk = root / "utkface" / "crop_part1"
    utk.mkdir(parents=True)
    for i in range(240):
        g, age, race = i % 2, int(rng.integers(1, 90)), int(rng.integers(0, 5))
        Image.fromarray(_image(rng, g == 1, 200)).save(utk / f"{age}_{g}_{race}_2017011{i:08d}.jpg.chip.jpg")
    (utk / "1_0_0_broken.jpg.chip.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")  # counted, not fatal
    lfw = root / "lfw" / "lfw-deepfunneled"
    males, females = [], []
    for p in range(40):
        name = f"Person_{p:02d}"
        (lfw / name).mkdir(parents=True)
        for k in range(1, 3):
            Image.fromarray(_image(rng, p % 2 == 1, 250)).save(lfw / name / f"{name}_{k:04d}.jpg")
            (females if p % 2 else males).append(f"{name}_{k:04d}.jpg")
    (root / "lfw" / "metadata").mkdir()
    (root / "lfw" / "metadata" / "male_names.txt").write_text("\n".join(males) + "\n")
    (root / "lfw" / "metadata" / "female_names.txt").write_text("\n".join(females) + "\n")
    return root


def test_whole_run_on_made_up_faces(fake_root, tmp_path):
    from artifactual.analyses.studies.knabenhans2024 import STUDY
    from artifactual.paper.build import build
    from artifactual.paper.figures import draw
    from artifactual.replication.study import RunContext

    cfg = Knabenhans2024Config(epochs=2, variants=(1, 2), audit_per_source=80, fairness=FairnessConfig(n_boot=200))
    out = tmp_path / "results" / "knabenhans2024"
    ctx = RunContext(data_root=fake_root, workers=1, progress=False, log=lambda *a: None)
    s = STUDY.execute(cfg, out, ctx)
    saved = json.loads((out / "summary.json").read_text())
    for m in ("accuracy", "balanced_accuracy", "roc_auc", "f1"):
        t = saved["table1"]["test"][m]
        assert t["ci_low"] <= t["estimate"] <= t["ci_high"]
    assert saved["table1"]["test"]["roc_auc"]["estimate"] > 0.9  # the band is there to be found
    assert [m["name"] for m in saved["models"]] == ["logreg", "cnn_1", "cnn_2"]
    assert saved["models"][2]["trainable_params"] == 5_375_746
    assert saved["data"]["utkface"]["pp_status"] and saved["split"]["test"] == 48
    for g in saved["groups"]:
        assert {"attribute", "group", "n", "too_small"} <= set(g)
        if g["too_small"]:
            assert g.get("accuracy") is None  # no number for a group too small to carry one
        else:
            assert g["accuracy"]["ci_low"] <= g["accuracy"]["estimate"] <= g["accuracy"]["ci_high"]
    shift = saved["lfw_shift"][saved["fairness_model"]]
    assert shift["lfw_frame"]["n"] == 80 and shift["lfw_frame"]["overall"]["accuracy"]["estimate"] > 0.8
    assert "skipped" in shift["lfw_face_crop"]  # Haar finds no face in noise: said, not crashed
    # gender balanced inside each source: the source cannot carry the label (rule 1), although it is readable
    assert saved["audit"]["verdict"] == "no_confound_detected", saved["audit"]["verdict_reasons"]
    v = {c["name"]: c for c in saved["audit"]["checks"]}["label_source_association"]
    assert v["estimate"] < 0.05 and v["ci_high"] < 0.3
    assert saved["never_about_real_people"] and saved["readings"]
    assert "figures" not in saved  # the study never draws; the paper does, from its files
    assert all((out / f).is_file() for f in draw("knabenhans2024", out).values())
    # a rerun reuses every trained unit
    again = STUDY.execute(cfg, out, ctx)
    assert again["table1"] == s["table1"]
    pdf = build(tmp_path / "results", out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    assert pdf.read_bytes()[:4] == b"%PDF"
    text = (tmp_path / "build" / "data.json").read_text()
    assert '"knabenhans2024": {' in text


def test_no_cnn_variant_trains_logistic_regression_only(fake_root, tmp_path, capsys):
    """`replicate knabenhans2024 --set variants=[]`: no CNN anywhere, fairness read on logreg and said so."""
    from artifactual.app.cli import main

    out = tmp_path / "k"
    assert main(["replicate", "knabenhans2024", "--data-root", str(fake_root), "--out", str(out), "--no-progress",
                 "--set", "variants=[]", "--set", "audit_per_source=80", "--set", "fairness.n_boot=200"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert [m["name"] for m in s["models"]] == ["logreg"] and s["config"]["variants"] == []
    assert s["fairness_model"] == "logreg" and "cnn_2 was not trained" in s["fairness_model_note"]
    assert [m["name"] for m in s["audit"]["headline"]["models"]] == ["pixel_logreg"]
    assert s["model_comparisons"] == [] and all("CNN" not in r["what"] for r in s["seed_comparison"])
    assert "CNN model 2 not trained" in capsys.readouterr().out
    assert (out / "figures" / "seed_vs_ours.png").is_file()
