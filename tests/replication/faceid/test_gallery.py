"""The watch-list database: SQLite round trip, refusals that leave files untouched, exact search."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from artifactual.replication.faceid import gallery as gallery_module
from artifactual.replication.faceid.gallery import NOTE, Gallery, GalleryError, check_file

REC = {"enrolled_from": "test-made random templates"}


def _filled(path: Path, kind: str = "dlib128", dim: int = 128, n: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    enrolled = {f"Person_{i:02d}": rng.normal(size=(1 + i % 3, dim)).astype(np.float32) for i in range(n)}
    if kind == "lbp":
        enrolled = {k: np.abs(v) for k, v in enrolled.items()}
    with Gallery.create(path, kind, dim) as g:
        for name, t in enrolled.items():
            g.enrol(name, t, REC)
    return enrolled


def test_round_trip_keeps_templates_names_and_records(tmp_path):
    path = tmp_path / "watch.sqlite"
    enrolled = _filled(path)
    with Gallery.open(path) as g:
        assert g.kind == "dlib128" and g.dim == 128 and len(g) == 6 and g.meta["note"] == NOTE
        assert "constructed watch-list of public faces" in repr(g)
        matrix, owner, names = g.templates()
        assert names == list(enrolled) == g.names()
        assert matrix.dtype == np.float32 and matrix.shape == (sum(len(t) for t in enrolled.values()), 128)
        for i, name in enumerate(names):
            np.testing.assert_array_equal(matrix[owner == i], enrolled[name])  # exact: float32 in, float32 out
        rec = g.record("Person_04")
        assert rec == {"enrolled_from": REC["enrolled_from"], "n_images": 2, "note": NOTE}
        with pytest.raises(KeyError, match="Nobody"):
            g.record("Nobody")


def test_create_refuses_bad_arguments_and_never_overwrites(tmp_path):
    with pytest.raises(ValueError, match="unknown template kind"):
        Gallery.create(tmp_path / "a.sqlite", "facenet", 128)
    with pytest.raises(ValueError, match="128"):
        Gallery.create(tmp_path / "a.sqlite", "dlib128", 64)
    with pytest.raises(ValueError, match="positive integer"):
        Gallery.create(tmp_path / "a.sqlite", "lbp", 0)
    assert not (tmp_path / "a.sqlite").exists()
    other = tmp_path / "other.txt"
    other.write_bytes(b"keep me")
    with pytest.raises(GalleryError, match="already exists"):
        Gallery.create(other, "lbp", 490)
    assert other.read_bytes() == b"keep me"


def test_enrol_refuses_duplicates_bad_templates_and_unnamed_sources(tmp_path):
    path = tmp_path / "watch.sqlite"
    _filled(path, n=2)
    with Gallery.open(path) as g:
        with pytest.raises(GalleryError, match="Person_01.*already enrolled"):
            g.enrol("Person_01", np.ones((1, 128)), REC)
        with pytest.raises(GalleryError, match="Person_00"):  # the whole batch is refused
            g.enrol_many([("New_A", np.ones((1, 128)), REC), ("Person_00", np.ones((1, 128)), REC)])
        with pytest.raises(ValueError, match="given twice"):
            g.enrol_many([("New_B", np.ones(128), REC), ("New_B", np.ones(128), REC)])
        with pytest.raises(ValueError, match=r"\(k >= 1, 128\)"):
            g.enrol("New_C", np.ones((2, 64)), REC)
        with pytest.raises(ValueError, match="NaN"):
            g.enrol("New_C", np.full(128, np.nan), REC)
        with pytest.raises(ValueError, match="enrolled_from"):
            g.enrol("New_C", np.ones(128), {"n_images": 1})
        with pytest.raises(ValueError, match="not JSON"):
            g.enrol("New_C", np.ones(128), {"enrolled_from": "x", "when": object()})
        assert g.names() == ["Person_00", "Person_01"] and len(g.templates()[0]) == 1 + 2
    with Gallery.open(path, read_only=True) as g:
        with pytest.raises(GalleryError, match="read-only"):
            g.enrol("New_D", np.ones(128), REC)


def test_a_failure_part_way_rolls_back_and_keeps_earlier_enrolments(tmp_path, monkeypatch):
    path = tmp_path / "watch.sqlite"
    enrolled = _filled(path, n=3)
    calls = []
    real = gallery_module._to_blob

    def fail_on_second(row):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk went away")
        return real(row)

    with Gallery.open(path) as g:
        monkeypatch.setattr(gallery_module, "_to_blob", fail_on_second)
        with pytest.raises(RuntimeError, match="disk went away"):
            g.enrol("Half_Done", np.ones((3, 128)), REC)  # identity row and one template were written
        monkeypatch.setattr(gallery_module, "_to_blob", real)
        assert g.names() == list(enrolled)
        g.enrol("After", np.ones((1, 128)), REC)  # the gallery is still usable
    with Gallery.open(path) as g:
        matrix, owner, names = g.templates()
        assert names == [*enrolled, "After"] and len(matrix) == sum(len(t) for t in enrolled.values()) + 1


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO people (name) VALUES ('x')")
    conn.commit()
    conn.close()


def _other_version(path: Path) -> None:
    _filled(path, n=2)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def _truncated(path: Path) -> None:
    _filled(path, n=200)  # many pages
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _header_only(path: Path) -> None:
    _filled(path, n=2)
    path.write_bytes(path.read_bytes()[:60])


def _corrupted(path: Path) -> None:
    _filled(path, n=200)
    data = bytearray(path.read_bytes())
    page = 4096 if len(data) > 8192 else 1024
    data[2 * page: 2 * page + 200] = np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()),
     "not a SQLite database"),
    (lambda p: p.write_bytes(b""), "not a SQLite database"),
    (_foreign_sqlite, "another schema"),
    (_other_version, "schema version '2'"),
    (_truncated, "damaged"),
    (_header_only, "damaged"),
    (_corrupted, "damaged"),
])
def test_wrong_files_are_refused_by_name_and_left_byte_identical(tmp_path, make, reason):
    path = tmp_path / "suspect.sqlite"
    make(path)
    before = path.read_bytes()
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(GalleryError) as err:
        Gallery.open(path)
    assert str(path) in str(err.value) and reason in str(err.value)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == listing  # no journal left either


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(GalleryError, match="no such file"):
        check_file(tmp_path / "absent.sqlite")
    with pytest.raises(GalleryError, match="folder"):
        Gallery.open(tmp_path)


def test_empty_gallery_and_bad_queries_give_clear_errors(tmp_path):
    with Gallery.create(tmp_path / "empty.sqlite", "dlib128", 128) as g:
        with pytest.raises(GalleryError, match="empty.sqlite is empty"):
            g.search(np.ones(128))
        g.enrol("Person_A", np.ones(128), REC)
        with pytest.raises(ValueError, match="unknown metric"):
            g.search(np.ones(128), metric="hamming")
        with pytest.raises(ValueError, match="k must be"):
            g.search(np.ones(128), k=0)
        with pytest.raises(ValueError, match=r"\(n, 128\)"):
            g.search(np.ones(64))


def _brute_force(probes, templates: dict[str, np.ndarray], metric: str, k: int):
    """One probe, one identity, one template at a time, in plain Python."""
    def sim(p, t):
        if metric == "cosine":
            return float(p @ t / (np.linalg.norm(p) * np.linalg.norm(t)))
        if metric == "euclidean":
            return -float(np.linalg.norm(p - t))
        return -sum(float((a - b) ** 2 / (a + b)) for a, b in zip(p, t) if a + b > 0)

    out = []
    for p in probes:
        best = [(name, max(sim(p.astype(np.float64), t.astype(np.float64)) for t in ts))
                for name, ts in templates.items()]
        out.append(sorted(best, key=lambda nb: -nb[1])[:k])
    return out


@pytest.mark.parametrize("kind, metric", [("dlib128", "cosine"), ("dlib128", "euclidean"), ("lbp", "chi2")])
def test_search_matches_brute_force(tmp_path, kind, metric):
    dim = 128 if kind == "dlib128" else 40
    path = tmp_path / "g.sqlite"
    enrolled = _filled(path, kind, dim, n=30, seed=1)
    rng = np.random.default_rng(2)
    names = list(enrolled)
    # probes near some templates (a known answer) and random ones
    probes = np.stack([enrolled[names[i]][-1] + 0.05 * rng.normal(size=dim) for i in (3, 17, 29)]
                      + [rng.normal(size=dim) for _ in range(4)]).astype(np.float32)
    if kind == "lbp":
        probes = np.abs(probes)
    with Gallery.open(path) as g:
        m = g.search(probes, k=5, metric=metric)
        assert m.names.shape == m.scores.shape == (7, 5) and m.metric == metric
        assert m.names[:3, 0].tolist() == [names[3], names[17], names[29]]
        ref = _brute_force(probes, enrolled, metric, 5)
        for row in range(len(probes)):
            assert m.names[row].tolist() == [n for n, _ in ref[row]]
            np.testing.assert_allclose(m.scores[row], [s for _, s in ref[row]], rtol=1e-4, atol=1e-4)
        assert (np.diff(m.scores, axis=1) <= 0).all()
        assert g.search(probes[0], k=100, metric=metric).names.shape == (1, 30)  # k above the size: all of them


def test_ties_go_to_the_identity_enrolled_first(tmp_path):
    with Gallery.create(tmp_path / "t.sqlite", "dlib128", 128) as g:
        v = np.ones(128)
        g.enrol_many([("B", v, REC), ("A", v, REC), ("C", -v, REC)])
        m = g.search(v, k=2)
        assert m.names[0].tolist() == ["B", "A"] and m.identity[0].tolist() == [0, 1]


def test_search_is_under_5ms_a_probe_against_5000_identities(tmp_path):
    rng = np.random.default_rng(0)
    with Gallery.create(tmp_path / "big.sqlite", "dlib128", 128) as g:
        g.enrol_many((f"id{i:04d}", rng.normal(size=(1, 128)), REC) for i in range(5000))
        g.search(rng.normal(size=128))  # reads the templates once
        times = []
        for p in rng.normal(size=(50, 128)):
            t = time.perf_counter()
            g.search(p, k=5)
            times.append(time.perf_counter() - t)
    assert np.median(times) < 0.005, f"median {np.median(times) * 1000:.2f} ms a probe"
