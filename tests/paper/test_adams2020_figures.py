"""Seed 003's figures and section from a made-up results/adams2020 folder: a summary in the study's schema and a
tiny grids.npz of random pixels (never real faces). Every figure is drawn when its data is there and skipped when
it is not; the section reads the same summary, or says how to produce it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import is_png, pdf_flat_text

from artifactual.paper.build import build
from artifactual.paper.figures import draw
from artifactual.paper.figures.adams2020 import FIGURES

APPROACHES = ("cross_modal", "mvae")
ATTRIBUTES = ["Male", "Young", "Gray_Hair", "Pale_Skin", "Mustache", "Black_Hair", "Heavy_Makeup", "Wearing_Hat",
              "Chubby", "Eyeglasses", "Bushy_Eyebrows", "Smiling", "No_Beard", "Bangs"]
DESCRIPTIONS = {
    "description 1": {"text": "man with gray hair, pale skin, and a mustache",
                      "present": ["Male", "Gray_Hair", "Pale_Skin", "Mustache"], "absent": []},
    "description 2": {"text": "young woman with black hair, heavy makeup, wearing a hat",
                      "present": ["Young", "Black_Hair", "Heavy_Makeup", "Wearing_Hat"], "absent": ["Male"]},
    "description 3": {"text": "chubby young man with glasses and bushy eyebrows",
                      "present": ["Chubby", "Young", "Male", "Eyeglasses", "Bushy_Eyebrows"], "absent": []},
}
CANDIDATES = 20


def _q(est: float, half: float = 0.05, n: int = 100) -> dict:
    return {"estimate": est, "ci_low": max(0.0, est - half), "ci_high": min(1.0, est + half), "n": n}


def _side(auroc: float) -> dict:
    return {"auroc": _q(auroc), "shows_when_asked": _q(0.7), "shows_when_not_asked": _q(0.2)}


def _fidelity(shift: float) -> list[dict]:
    return [{"attribute": a, "prevalence": 0.3, "n_asked": 30 + i, "n_not_asked": 70 - i,
             "real": _side(0.95 - 0.01 * i), "generated": _side(0.9 - 0.03 * i - shift)}
            for i, a in enumerate(ATTRIBUTES)]


def _ranks(top1: float) -> dict:
    hist = [12, 6] + [3] * (CANDIDATES - 2)
    return {"top1": _q(top1), "top10": _q(0.6), "median_rank": 6.0, "chance_top1": 1 / CANDIDATES,
            "chance_top10": 10 / CANDIDATES, "chance_median_rank": (CANDIDATES + 1) / 2, "histogram": hist,
            "candidates": CANDIDATES}


def _leakage(d: str) -> list[dict]:
    named = DESCRIPTIONS[d]["present"] + DESCRIPTIONS[d]["absent"]
    return [{"attribute": a, "mentioned": a in named, "asked": int(a in DESCRIPTIONS[d]["present"]),
             "generated_shows": _q(0.1 + 0.06 * i, n=64), "train_prevalence": 0.05 + 0.06 * i,
             "train_prevalence_matching": 0.5 if d != "description 3" else None,
             "n_train_matching": 12 if d != "description 3" else 0} for i, a in enumerate(ATTRIBUTES)]


def _approach(shift: float) -> dict:
    return {"fidelity": _fidelity(shift),
            "identification": {"sketch": {**_ranks(0.08), "probes": 40, "searched": 38, "no_template": 2},
                               "attributes_only": _ranks(0.9)},
            "collapse": {"to_mean_face": {"generated": _q(0.05), "real": _q(0.2)},
                         "between_faces": {"generated": _q(0.06), "real": _q(0.25)},
                         "within_description": {d: _q(0.01) for d in DESCRIPTIONS}},
            "leakage": {d: _leakage(d) for d in DESCRIPTIONS}}


def _vae_cfg(approach: str, epochs: int, anneal: int) -> dict:
    return {"approach": approach, "latent": 100, "width": 32, "epochs": epochs, "batch_size": 100, "lr": 0.001,
            "anneal_epochs": anneal, "recon_reduction": "sum"}


def fake_summary() -> dict:
    """Made-up numbers in the schema of results/adams2020/summary.json (analyses/adams2020_report.py)."""
    history = [{"epoch": e, "loss": 300.0 - 10 * e, "recon_image": 250.0, "recon_attributes": 5.0, "kl": 20.0,
                "kl_weight": min(1.0, e / 3), "val_loss": 310.0 - 8 * e, "seconds": 2.0} for e in (1, 2, 3, 4)]
    mse = {"n": 100, "mse": 0.0211, "sse_per_image": 0.0211 * 12288, "mse_rgb_summed": 0.0633, "mse_logits": 0.41,
           "mse_mean_image": 0.0345, "interval": [0.0198, 0.0224]}
    return {
        "name": "adams2020", "task": "made-up faces from made-up attributes",
        "seed_claim": {"test_mse": {"cross_modal": 0.0750, "mvae": 0.7804}, "source": "seed 003 (made-up test copy)"},
        "config": {"side": 64, "split": [0.8, 0.1, 0.1], "approaches": list(APPROACHES),
                   "cross_modal": _vae_cfg("cross_modal", 4, 20), "mvae": _vae_cfg("mvae", 4, 3),
                   "candidates": CANDIDATES, "samples_per_description": 64, "grid": 4},
        "data": {"images_found": 1000, "images_used": 1000, "split": {"train": 800, "validation": 100, "test": 100},
                 "split_note": "a made-up random split by image",
                 "prevalence": {a: 0.3 for a in ATTRIBUTES}, "source": "made-up faces"},
        "reference_attributes": {"file": "celeba/datasets.py (made up)", "n_kept": 9, "note": "made up",
                                 "kept": [a for a in ATTRIBUTES[:11] if a not in ("Young", "Chubby")]},
        "descriptions": DESCRIPTIONS,
        "training": {a: {"approach": a, "epochs": 4, "params": 1000, "train_images": 800, "seconds_per_epoch": 2.0,
                         "seconds": 8.0, "history": history, "config": _vae_cfg(a, 4, 3)} for a in APPROACHES},
        "test_mse": {a: {**mse, "seed": s} for a, s in zip(APPROACHES, (0.0750, 0.7804))},
        "classifier": {"attributes": ATTRIBUTES, "real_test": _fidelity(0.0),
                       "what": "a made-up attribute classifier"},
        "approaches": {"cross_modal": _approach(0.3), "mvae": _approach(0.1)},
        "readings": ["mvae: a made-up reading."],
    }


def write_folder(folder: Path, summary: dict | None = None, grids: bool = True, object_names: bool = False) -> Path:
    """summary.json and, when asked, grids.npz (random 64x64 pixels) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(fake_summary() if summary is None else summary))
    if grids:
        rng = np.random.default_rng(0)
        px = lambda *shape: rng.integers(0, 256, (*shape, 64, 64, 3), dtype=np.uint8)  # noqa: E731
        names = np.array(list(DESCRIPTIONS), dtype=object if object_names else str)
        np.savez_compressed(folder / "grids.npz", real=px(5), mean_face=px(1)[0], descriptions=names,
                            **{f"generated_{a}": px(5) for a in APPROACHES},
                            **{f"descriptions_{a}": px(3, 4) for a in APPROACHES})
    return folder


@pytest.mark.parametrize("object_names", [False, True])
def test_every_figure_is_drawn_from_made_up_data(tmp_path, object_names):
    folder = write_folder(tmp_path / "adams2020", object_names=object_names)
    made = draw("adams2020", folder)
    assert made == {key: f"figures/{key}.png" for key in FIGURES.figures}
    assert list(made) == ["real_vs_generated", "descriptions", "fidelity", "identification", "leakage", "training"]
    assert all(is_png(folder / rel) for rel in made.values())


def test_figures_whose_data_is_absent_are_skipped(tmp_path):
    folder = write_folder(tmp_path / "adams2020", grids=False)
    assert set(draw("adams2020", folder)) == {"fidelity", "identification", "leakage", "training"}
    assert draw("adams2020", write_folder(tmp_path / "bare", summary={"approaches": {}}, grids=False)) == {}
    only_grids = write_folder(tmp_path / "grids", summary={})
    assert set(draw("adams2020", only_grids)) == {"real_vs_generated", "descriptions"}


def test_one_approach_alone_is_drawn(tmp_path):
    s = fake_summary()
    s["approaches"].pop("cross_modal"), s["training"].pop("cross_modal")
    folder = write_folder(tmp_path / "adams2020", summary=s)
    assert list(draw("adams2020", folder)) == list(FIGURES.figures)


def test_section_reads_the_summary_and_shows_the_figures(tmp_path):
    write_folder(tmp_path / "results" / "adams2020")
    pdf = build(tmp_path / "results", out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    data = json.loads((tmp_path / "build" / "data.json").read_text())
    assert data["figures"]["adams2020"] == {k: f"adams2020-{k}.png" for k in FIGURES.figures}
    flat = pdf_flat_text(pdf)
    start = flat.index("Seed 003")
    section = flat[start:flat.index("Use. A generated face is a picture of nobody", start)]
    assert "Not run yet. results/adams2020/summary.json" not in flat
    assert "0.0211 [0.0198, 0.0224]" in section  # test MSE with its interval
    assert "0.7804" in section and "0.0345" in section  # the seed's number and the mean-image baseline
    assert "0.080 [0.030, 0.130]" in section  # identification top-1
    assert "0.95 [0.90, 1.00]" in section  # the attribute classifier's AUROC on real faces (Male)
    assert "description 1: \u201cman with gray hair, pale skin, and a mustache\u201d" in section
    assert "ask for Young, Chubby, which the reference's 9 lack" in section
    assert len(re.findall(r"\bcriminal\b", section, flags=re.I)) == 1  # the seed's title, nothing else
    assert "artifactual makes no sketch from anyone's description of a real person" in flat


def test_section_without_a_summary_says_how_to_run_it(tmp_path):
    pdf = build(tmp_path / "none", out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    flat = pdf_flat_text(pdf)
    assert "results/adams2020/summary.json does not exist" in flat
    assert "artifactual replicate adams2020 --data-root DIR" in flat and "celeba/" in flat
