"""`artifactual audit` on a user's manifest: outputs, schema, and bad input handled with a message."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.app.cli import main

REQUIRED = {"name", "metric", "estimate", "ci_low", "ci_high", "p_value", "n", "reading"}


def _portrait(rng, grey_light: bool) -> np.ndarray:
    img = cv2.GaussianBlur(rng.normal(110, 40, (40, 40, 3)), (0, 0), 2)
    m = np.zeros((40, 40), np.uint8)
    cv2.ellipse(m, (20, 20), (13, 18), 0, 0, 360, 1, -1)
    img[m == 1] = rng.uniform(120, 200) * np.array([1.0, 0.8, 0.7])
    img = np.clip(img, 0, 255).astype(np.uint8)
    if grey_light:
        img = np.repeat(np.clip(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(int) + 50, 0, 255)
                        .astype(np.uint8)[..., None], 3, 2)
    return img


@pytest.fixture(scope="module")
def confounded_manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("user")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        cls = "flagged" if i < 40 else "clear"
        Image.fromarray(_portrait(rng, cls == "flagged")).save(root / f"{i}.jpg", quality=90)
        rows.append({"path": f"{i}.jpg", "outcome": cls, "archive": "archive_x" if cls == "flagged" else "web",
                     "person": f"p{i // 2}"})
    rows.append({"path": "missing.jpg", "outcome": "clear", "archive": "web", "person": "q"})
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    rows.append({"path": "broken.jpg", "outcome": "flagged", "archive": "archive_x", "person": "r"})
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return root / "m.csv"


def test_audit_command_on_a_confounded_user_dataset(confounded_manifest, tmp_path, capsys):
    out = tmp_path / "audit"
    rc = main(["audit", "--manifest", str(confounded_manifest), "--label", "outcome", "--source", "archive",
               "--identity", "person", "--positive", "flagged", "--out", str(out), "--no-progress",
               "--set", "detect_face=false", "--set", "size=32"])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["verdict"] == "source_confound"
    assert s["classes"] == {"0": "clear", "1": "flagged"}
    assert s["headline"]["auroc"] > 0.9 and len(s["headline"]["auroc_ci"]) == 2
    assert s["headline"]["average_precision"] > 0.9
    assert all(REQUIRED <= set(c) for c in s["checks"])
    holm = {c["name"] for c in s["checks"] if c["p_holm"] is not None}
    assert holm == set(s["multiplicity"]["members"]) and "label_learnable" in holm
    assert all(c["role"] == "confirmatory" for c in s["checks"] if c["name"] in holm)
    assert s["design"]["skipped_rows"] == 2 and s["design"]["n"] == 80
    assert (out / "summary.md").read_text().startswith("# artifactual audit")
    assert "figures" not in s  # summary.json is written once, by the audit; the paper's code draws
    assert {"roc_pr.png", "property_distributions.png", "mean_images.png"} <= {p.name for p in (out / "figures").iterdir()}
    captured = capsys.readouterr()
    assert "2 manifest rows skipped" in captured.err and "verdict: source_confound" in captured.out


def test_audit_refuses_a_single_class_label(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for i in range(6):
        Image.fromarray(_portrait(rng, False)).save(tmp_path / f"{i}.png")
    pd.DataFrame({"path": [f"{i}.png" for i in range(6)], "y": ["x"] * 6, "src": ["a"] * 6}).to_csv(
        tmp_path / "m.csv", index=False)
    rc = main(["audit", "--manifest", str(tmp_path / "m.csv"), "--label", "y", "--source", "src",
               "--out", str(tmp_path / "o"), "--no-progress", "--set", "detect_face=false"])
    assert rc == 2
    assert "exactly two classes" in capsys.readouterr().err


def test_audit_refuses_a_misspelt_identity_and_a_label_that_is_the_source(tmp_path, capsys):
    """A named identity column that is absent would make every image its own person without a word;
    a label that is the source column is confounded by construction. Both are errors before any decoding."""
    rng = np.random.default_rng(1)
    for i in range(6):
        Image.fromarray(_portrait(rng, False)).save(tmp_path / f"{i}.png")
    pd.DataFrame({"path": [f"{i}.png" for i in range(6)], "y": ["a", "b"] * 3, "src": ["s", "t"] * 3,
                  "Person": ["p1", "p1", "p2", "p2", "p3", "p3"]}).to_csv(tmp_path / "m.csv", index=False)
    base = ["audit", "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*base, "--label", "y", "--source", "src", "--identity", "person"]) == 2
    err = capsys.readouterr().err
    assert "lacks column(s) ['person']" in err and "Person" in err
    assert main([*base, "--label", "src", "--source", "src"]) == 2
    assert "the label and the source are the same column 'src'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.realdata
def test_audit_on_utkface_gender_one_source_is_not_a_confound(real_data_root, tmp_path):
    """A real signal inside one source (UTKFace gender) must not be called a source confound."""
    import shutil

    src = sorted((real_data_root / "utkface").rglob("*.jpg"))
    rows = []
    for f in src[::40][:240]:
        parts = f.name.split("_")
        if len(parts) < 4 or parts[1] not in ("0", "1"):
            continue
        shutil.copy(f, tmp_path / f.name)  # into a temporary folder, never the repository
        rows.append({"path": f.name, "gender": "female" if parts[1] == "1" else "male", "source": "utkface"})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    out = tmp_path / "audit"
    assert main(["audit", "--manifest", str(tmp_path / "m.csv"), "--label", "gender", "--source", "source",
                 "--out", str(out), "--no-progress", "--set", "detect_face=false", "--models", "pixel_logreg"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["verdict"] == "no_confound_detected"
    assert s["headline"]["auroc_ci"][0] > 0.5  # gender is a real, learnable signal here


@pytest.mark.realdata
def test_audit_on_lfw_smiling_one_source_is_not_a_confound(real_data_root, tmp_path):
    """LFW smiling (a real signal, one declared source): not a source confound. LFW's news photos come from
    thousands of events, so the background outside the face may predict smiling a little (AUROC about 0.6):
    then the verdict says the one "source" may be several captures, and gives the images' AUROC for scale."""
    import shutil

    labels = pd.read_csv(real_data_root / "lfw" / "labels.tsv", sep="\t", dtype=str, keep_default_na=False)
    labels = labels[labels["smile_morishita"].isin(["0", "1"])].iloc[::15][:240]
    rows = []
    for rel, smile in zip(labels["path"], labels["smile_morishita"]):
        name = rel.replace("/", "__")
        shutil.copy(real_data_root / "lfw" / rel, tmp_path / name)  # temporary folder, never the repository
        rows.append({"path": name, "smiling": smile, "source": "lfw", "person": rel.split("/")[1]})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    out = tmp_path / "audit"
    assert main(["audit", "--manifest", str(tmp_path / "m.csv"), "--label", "smiling", "--source", "source",
                 "--identity", "person", "--out", str(out), "--no-progress", "--models", "pixel_logreg"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["verdict"] in ("no_confound_detected", "hidden_capture_difference"), s["verdict_reasons"]
    checks = {c["name"]: c for c in s["checks"]}
    if s["verdict"] == "hidden_capture_difference":
        assert checks["capture_properties"]["estimate"] < checks["label_learnable"]["estimate"] - 0.2
        assert any("for scale" in r for r in s["verdict_reasons"])
