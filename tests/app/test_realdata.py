"""Exact counts on the real datasets (skip when ARTIFACTUAL_DATA is absent)."""

from __future__ import annotations

import pytest

from artifactual.app.cli import main
from artifactual.replication.data import load_dataset
from artifactual.replication.data.summary import summarize

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("name, images, identities", [("lfw", 13233, 5749), ("utkface", 9780, 0), ("orl", 400, 40)])
def test_exact_counts(real_data_root, name, images, identities):
    s = summarize(load_dataset(name, data_root=real_data_root, progress=False))
    assert s["n_images"] == images and s["n_skipped"] == 0
    assert s["identities"]["n"] == identities


def test_lfw_labels_match_the_shipped_label_file(real_data_root):
    import pandas as pd

    ds = load_dataset("lfw", data_root=real_data_root, progress=False)
    ref = pd.read_csv(real_data_root / "lfw" / "labels.tsv", sep="\t", dtype=str, keep_default_na=False)
    ref_gender = ref["gender_lfwlist"].where(ref["gender_lfwlist"].isin(["M", "F"]), "NA")
    ours = ds.table.set_index("path")["gender"].fillna("NA")
    assert ours.reindex(ref["path"].str.removeprefix("lfw-deepfunneled/")).tolist() == ref_gender.tolist()
    assert ds.notes == {"gender_conflict_na": 5, "gender_missing_na": 3, "smiling_labelled": 3780}


def test_utkface_fields_and_cli_summary(real_data_root, capsys):
    ds = load_dataset("utkface", data_root=real_data_root, progress=False)
    assert ds.notes["malformed_name"] == 2
    assert ds.table["gender"].value_counts().to_dict() == {1: 5406, 0: 4372}
    assert main(["data", "summarize", "--dataset", "orl", "--data-root", str(real_data_root), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "400 images usable" in out and "40 identities" in out


@pytest.mark.slow
def test_goel2022_replication_on_real_data(real_data_root, tmp_path):
    """The acceptance run, subsampled: high AUROC, and the audit calls it a source confound."""
    from artifactual.replication.study import STUDIES, RunContext

    study = STUDIES.get("goel2022")
    s = study.execute(study.configure("real", per_class=600), tmp_path / "goel2022",
                  RunContext(data_root=real_data_root, progress=False))
    assert s["verdict"] == "source_confound"
    assert s["headline"]["auroc"] >= 0.9 and s["headline"]["auroc_ci"][0] > 0.5
    assert {r["source"] for r in s["design"]["sources"]} == {"orl", "utkface_mugshot_capture", "utkface", "lfw"}


#: The FPT study's real confounded design (600 images): a change in detection, balancing or
#: sampling that alters which images enter it must be a decision, not an accident (issue 13).
FPT_DESIGN_SHA256 = "6d4982f0b2855d04a9b997c7be19082e707b8e23e27ac16b8ff49ce809e216ce"


def test_fpt_study_design_is_pinned(real_data_root):
    from artifactual.analyses.goel2022_fpt import design_fingerprint
    from artifactual.analyses.studies.goel2022_fpt import load_datasets, real
    from artifactual.replication.parallel import use_settings
    from artifactual.replication.study import RunContext

    with use_settings(progress=False):
        d = load_datasets(real(), RunContext(data_root=real_data_root), confounded_only=True)["confounded_design"]
    fp = design_fingerprint(d)
    assert (fp["images"], fp["sha256"]) == (600, FPT_DESIGN_SHA256), fp
