"""Seed 001's study wiring on a made-up watch-list: mates found where they are enrolled, nested galleries,
failures to find a face counted as misses, and the numbers falling to chance when templates carry no identity."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.analyses.shanmugapriyan import Pipeline, ShanmugapriyanConfig, evaluate_pipeline, scores
from artifactual.replication.designs.shanmugapriyan import WatchlistDesign, build_watchlist
from artifactual.replication.faceid.dlib_embed import cosine_similarity
from artifactual.replication.faceid.lbp import Templates


def _fake(identity_signal: float, no_face: set[str] = frozenset()):
    """Templates = the person's own direction x ``identity_signal`` + noise seeded by the file; a file in
    ``no_face`` gets none (as a photograph where the detector finds no face)."""
    def embed(items, cfg):
        vecs, found = [], []
        for item in items:
            name = str(item).rsplit("/", 1)[-1]
            person = name.split("_")[0]
            if name in no_face:
                found.append(False)
                continue
            base = np.random.default_rng(zlib.crc32(person.encode())).normal(size=128)
            noise = np.random.default_rng(zlib.crc32(name.encode())).normal(size=128)
            vecs.append((identity_signal * base + noise).astype(np.float32))
            found.append(True)
        return Templates(np.array(vecs, np.float32).reshape(-1, 128), np.array(found), [""] * len(found),
                         [(0, 0, 8, 8) if f else None for f in found])
    return embed


@pytest.fixture()
def watchlist(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTUAL_CACHE", str(tmp_path / "cache"))
    rows = []
    for i in range(120):
        for j in range(1 + (i % 3)):
            path = f"p{i}_{j}.png"
            Image.new("RGB", (8, 8), (i, j, 0)).save(tmp_path / path)
            rows.append({"path": path, "identity": f"p{i}", "gender": "F" if i % 2 else "M"})
    roles, counts = build_watchlist(pd.DataFrame(rows), WatchlistDesign(gallery_sizes=(10, 40), nonmated_people=40))
    return tmp_path, roles, counts


@dataclass(frozen=True)
class FakeConfig:
    name: str


def _run(tmp_path, roles, counts, embed, name):
    pipe = Pipeline(name, "dlib128", FakeConfig(name), embed, cosine_similarity, "made-up templates")
    cfg = ShanmugapriyanConfig(n_boot=50, n_perm=50, field_gallery=40, degrade=False, capture_mismatch=False,
                               operating_fpir=0.1)  # 67 non-mated searches: FPIR 0.01 is not estimable
    return evaluate_pipeline(pipe, roles, tmp_path, cfg, counts["gallery_sizes"], tmp_path)


def test_templates_that_carry_identity_find_their_mates(watchlist):
    tmp_path, roles, counts = watchlist
    r = _run(tmp_path, roles, counts, _fake(4.0), "strong")
    assert [g["size"] for g in r["galleries"]] == [10, 40]
    assert all(g["cmc"]["points"][0]["rate"]["estimate"] > 0.9 for g in r["galleries"])
    assert (tmp_path / "gallery-strong.sqlite").is_file()
    assert r["operating_point"]["gallery"] == 40 and len(r["alerts"]) == 4


def test_templates_without_identity_score_at_chance(watchlist):
    tmp_path, roles, counts = watchlist
    r = _run(tmp_path, roles, counts, _fake(0.0), "none")
    big = r["galleries"][-1]
    assert big["cmc"]["points"][0]["rate"]["estimate"] < 0.2  # chance is 1/40
    assert big["cmc"]["points"][0]["rate"]["ci_low"] <= 1 / 40 + 0.05


def test_a_face_not_found_is_a_miss_never_a_replacement(watchlist):
    tmp_path, roles, counts = watchlist
    mated = roles[roles["role"] == "mated"]["path"].str.rsplit("/", n=1).str[-1]
    r = _run(tmp_path, roles, counts, _fake(4.0, set(mated)), "blind")
    assert r["templates"]["searches_without_face"] == len(mated)
    assert all(g["cmc"]["points"][0]["rate"]["estimate"] == 0 for g in r["galleries"])


def test_scores_mark_missing_templates_below_every_threshold():
    pipe = Pipeline("x", "dlib128", None, None, cosine_similarity, "")
    S = scores(pipe, np.array([[1, 0], [np.nan, np.nan]], np.float32), np.array([[1, 0], [0, 1]], np.float32))
    assert S[0, 0] == pytest.approx(1) and (S[1] == S.min()).all()
    assert replace(ShanmugapriyanConfig(), degrade=False).degrade is False


def test_too_few_strangers_for_the_operating_fpir_is_said_not_guessed(watchlist):
    tmp_path, roles, counts = watchlist
    pipe = Pipeline("s", "dlib128", FakeConfig("s"), _fake(4.0), cosine_similarity, "made-up templates")
    cfg = ShanmugapriyanConfig(n_boot=50, n_perm=50, degrade=False, capture_mismatch=False)  # FPIR 0.01, 67 searches
    r = evaluate_pipeline(pipe, roles, tmp_path, cfg, counts["gallery_sizes"], tmp_path)
    assert r["alerts"]["status"] == "not estimable" and "needs >= 100 non-mated searches" in r["alerts"]["reason"]
    assert "operating_point" not in r
