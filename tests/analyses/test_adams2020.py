"""Seed 003's study on a made-up CelebA tree: the pieces against hand values, then the whole lifecycle with
tiny networks (trained, saved, evaluated, resumed from the run's own weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artifactual.analyses.adams2020 import (DESCRIPTIONS, Adams2020Config, description_vector, identification_ranks,
                                            leakage, random_split, rank_summary)
from artifactual.replication.config import override
from artifactual.replication.data.celeba import ATTRIBUTES
from artifactual.replication.study import RunContext

TINY = {"cross_modal.latent": "4", "cross_modal.width": "4", "cross_modal.image_hidden": "8",
        "cross_modal.attr_hidden": "8", "cross_modal.epochs": "1", "cross_modal.batch_size": "20",
        "mvae.latent": "4", "mvae.width": "4", "mvae.image_hidden": "8", "mvae.attr_hidden": "8", "mvae.epochs": "1",
        "mvae.anneal_epochs": "1", "mvae.batch_size": "20", "candidates": "10", "probes": "6",
        "samples_per_description": "6", "grid": "4", "n_boot": "50"}


def celeba_tree(root: Path, n: int = 60, seed: int = 0) -> Path:
    """``n`` 89x109 JPEGs with random attributes in CelebA's layout (attribute and partition files included)."""
    rng = np.random.default_rng(seed)
    folder = root / "celeba" / "celebA"
    folder.mkdir(parents=True)
    rows = []
    for i in range(1, n + 1):
        Image.fromarray(rng.integers(0, 256, (109, 89, 3), dtype=np.uint8)).save(folder / f"{i:06d}.jpg")
        rows.append(f"{i:06d}.jpg " + " ".join(rng.choice(["-1", "1"], len(ATTRIBUTES))))
    header = f"{n}\n" + " ".join(ATTRIBUTES) + "\n"
    (root / "celeba" / "list_attr_celeba.txt").write_text(header + "\n".join(rows) + "\n")
    (root / "celeba" / "list_eval_partition.txt").write_text("".join(f"{i:06d}.jpg 0\n" for i in range(1, n + 1)))
    return root


def test_split_descriptions_and_ranks_against_hand_values():
    s = random_split(50, (0.8, 0.1, 0.1), 3)
    assert [len(s[k]) for k in ("train", "validation", "test")] == [40, 5, 5]
    v = description_vector("description 2", list(ATTRIBUTES))
    assert [a for a, x in zip(ATTRIBUTES, v) if x] == sorted(DESCRIPTIONS["description 2"]["present"],
                                                              key=list(ATTRIBUTES).index)
    pool = np.eye(30)
    far = pool[:5] * -1  # every probe points away from its own image: never ranked first
    assert (identification_ranks(pool[:5], pool, np.arange(5), 10, 0) == 1).all()
    assert (identification_ranks(far, pool, np.arange(5), 10, 0) > 1).all()
    r = rank_summary(np.array([1, 1, 5, 20]), 20, 200, 0)
    assert (r["top1"]["estimate"], r["top10"]["estimate"], r["chance_top1"], r["histogram"][0]) == (0.5, 0.75, 0.05, 2)


def test_leakage_reads_matching_training_prevalence():
    attrs = list(ATTRIBUTES)
    train = np.zeros((4, 40), int)
    i = {a: attrs.index(a) for a in attrs}
    for a in DESCRIPTIONS["description 1"]["present"]:
        train[:2, i[a]] = 1  # two training images match description 1
    train[0, i["Young"]] = 1
    train[2:, i["Young"]] = 1
    scores = {"Young": np.array([0.9, 0.1, 0.8, 0.7]), "Male": np.ones(4)}
    rows = {r["attribute"]: r for r in leakage("description 1", scores, train, attrs, 100, 0)}
    assert rows["Young"]["generated_shows"]["estimate"] == 0.75 and not rows["Young"]["mentioned"]
    assert (rows["Young"]["train_prevalence"], rows["Young"]["train_prevalence_matching"]) == (0.75, 0.5)
    assert rows["Male"]["mentioned"] and rows["Male"]["asked"] == 1


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match="split"):
        Adams2020Config(split=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="candidates"):
        Adams2020Config(candidates=5)


def test_the_whole_lifecycle_on_a_made_up_tree(tmp_path):
    from artifactual.analyses.studies.adams2020 import STUDY

    root = celeba_tree(tmp_path / "data", n=100)
    cfg = override(Adams2020Config(), TINY)
    logs: list[str] = []
    s = STUDY.execute(cfg, tmp_path / "out", RunContext(data_root=root, workers=1, progress=False, log=logs.append))
    assert set(s["test_mse"]) == {"cross_modal", "mvae"} and s["test_mse"]["mvae"]["seed"] == 0.7804
    assert 0 < s["test_mse"]["mvae"]["mse"] < 1 and s["data"]["split"] == {"train": 80, "validation": 10, "test": 10}
    for a in ("cross_modal", "mvae"):
        ident = s["approaches"][a]["identification"]["sketch"]
        assert ident["searched"] + ident["no_template"] == 6 and sum(ident["histogram"]) == ident["searched"]
        # the description's own attributes find its image first (no other candidate shares all 40 at random)
        assert s["approaches"][a]["identification"]["attributes_only"]["top1"]["estimate"] == 1.0
        assert set(s["approaches"][a]["leakage"]) == set(DESCRIPTIONS)
    assert any("test MSE" in r for r in s["readings"])
    for name in ("summary.json", "summary.md", "grids.npz"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    weights = list((tmp_path / "out" / "runs").glob("*/mvae.pt"))
    assert len(weights) == 1
    logs.clear()
    again = STUDY.execute(cfg, tmp_path / "out", RunContext(data_root=root, workers=1, progress=False,
                                                            log=logs.append))
    assert not any("training" in line for line in logs) and again["test_mse"] == s["test_mse"]
