"""The one cache: damaged entries of every cache are reported and rebuilt, content keys, locking."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.analyses.audit_data import AuditConfig, build_audit_data
from artifactual.replication.cache import CacheWarning, cache_root, cached, entry_path, read_entry
from artifactual.replication.data import load_dataset
from artifactual.replication.parallel import use_settings
from artifactual.replication.preprocess import Goel2022Preprocess, preprocess_dataset
from helpers import face_like

PP = Goel2022Preprocess(detect_face=False, size=12)
AUDIT = AuditConfig(raw_side=16)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("ARTIFACTUAL_CACHE", str(root))
    return root


def write_images(folder: Path, n: int = 8, fmt: str = "png") -> Path:
    """``n`` small images in two sources and two labels, and a manifest CSV naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        px = np.roll(face_like(20, 16), 3 * i, axis=0)
        Image.fromarray(px).save(folder / f"im{i}.{fmt}")
        rows.append({"path": f"im{i}.{fmt}", "label": i % 2, "source": "ab"[i // (n // 2)], "identity": f"p{i}"})
    pd.DataFrame(rows).to_csv(folder / "m.csv", index=False)
    return folder / "m.csv"


# -- what each cache returns, as something comparable ----------------------------------------

def run_inspect(manifest: Path) -> dict:
    ds = load_dataset("manifest", manifest=manifest, progress=False)
    return {"table": ds.table, "manifest_hash": ds.manifest_hash}


def run_preprocess(manifest: Path) -> dict:
    pp = preprocess_dataset(load_dataset("manifest", manifest=manifest, progress=False), PP, workers=1, progress=False)
    return {"arrays": np.asarray(pp.arrays), "table": pp.table}


def run_audit(manifest: Path) -> dict:
    with use_settings(workers=1, progress=False):
        d = build_audit_data(load_dataset("manifest", manifest=manifest), "label", PP, AUDIT, "1")
    return {"X": d.X, "raw": d.raw, "properties": d.properties, "table": d.table}


#: what each run computes, the cache folder its entry lands in, and the entry's files. The audit's raw
#: photographs and image properties are computed in the preprocessing pass (one decode per image), so
#: they live in a preprocessing entry of their own.
CACHES = {"inspect": (run_inspect, "inspect", ["results.json"]),
          "preprocessed": (run_preprocess, "preprocessed", ["arrays.npy", "table.pkl", "config.json"]),
          "audit": (run_audit, "preprocessed", ["arrays.npy", "table.pkl", "extra_raw.npy",
                                                "extra_properties.parquet"])}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        elif isinstance(a[k], pd.DataFrame):
            assert a[k].equals(b[k]) and list(a[k].dtypes) == list(b[k].dtypes), k
        else:
            assert a[k] == b[k], k


# -- damage, one function per kind ------------------------------------------------------------

def truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


def flip_bytes(p: Path) -> None:
    """Flip the last byte: the data region, where a format's own checks notice nothing."""
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))


def garble_header(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(b"\x00garbled-header!" + data[16:])


def replace_by_folder(p: Path) -> None:
    p.unlink()
    p.mkdir()
    (p / "stray").write_text("x")


def delete(p: Path) -> None:
    p.unlink()


DAMAGE = [truncate, flip_bytes, garble_header, replace_by_folder, delete]


def entry_folder(kind: str) -> Path:
    found = [p.parent for p in (cache_root() / kind).rglob("checksums.json")]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind, part", [(k, p) for k, (_, _, parts) in CACHES.items() for p in [*parts, "checksums.json"]])
def test_damaged_entry_is_reported_and_rebuilt(fresh_cache, tmp_path, kind, part, damage):
    run, folder_kind, _ = CACHES[kind]
    manifest = write_images(tmp_path / "imgs")
    first = run(manifest)
    folder = entry_folder(folder_kind)
    assert (folder / part).is_file(), sorted(p.name for p in folder.iterdir())  # the layout the test assumes
    damage(folder / part)
    with pytest.warns(CacheWarning, match=rf"{folder.name}.*damaged or unreadable"):
        again = run(manifest)
    assert_same(again, first)
    read_entry(entry_folder(folder_kind))  # rebuilt entry verifies
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # reported once: the rebuilt entry is trusted
        assert_same(run(manifest), first)


def test_whole_entry_replaced_by_a_file(fresh_cache, tmp_path):
    manifest = write_images(tmp_path / "imgs")
    first = run_preprocess(manifest)
    folder = entry_folder("preprocessed")
    import shutil

    shutil.rmtree(folder)
    folder.write_text("not a folder")
    with pytest.warns(CacheWarning, match="NotADirectoryError"):
        assert_same(run_preprocess(manifest), first)


def test_preprocess_second_call_is_served_from_the_cache(fresh_cache, tmp_path):
    manifest = write_images(tmp_path / "imgs")
    ds = load_dataset("manifest", manifest=manifest, progress=False)
    a = preprocess_dataset(ds, PP, workers=1, progress=False)
    b = preprocess_dataset(ds, PP, workers=1, progress=False)
    assert not a.from_cache and b.from_cache and np.array_equal(np.asarray(b.arrays), a.arrays)
    assert b.table.equals(a.table)


def test_edit_keeping_size_and_mtime_changes_the_manifest_hash(fresh_cache, tmp_path):
    # BMP: uncompressed, so new pixels of the same dimensions give a file of exactly the same size
    manifest = write_images(tmp_path / "imgs", fmt="bmp")
    before = run_inspect(manifest)
    target = tmp_path / "imgs" / "im0.bmp"
    st = target.stat()
    Image.fromarray(255 - face_like(20, 16)).save(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert target.stat().st_size == st.st_size and target.stat().st_mtime_ns == st.st_mtime_ns
    after = run_inspect(manifest)
    assert after["manifest_hash"] != before["manifest_hash"]
    assert after["table"]["sha256"].iloc[0] != before["table"]["sha256"].iloc[0]
    assert after["table"]["sha256"].iloc[1:].tolist() == before["table"]["sha256"].iloc[1:].tolist()


def test_two_writers_of_one_key_leave_one_valid_entry(fresh_cache):
    calls = []

    def slow_build():
        calls.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the other thread to arrive while this one builds
        return {"x": np.arange(1000), "t": pd.DataFrame({"a": [1.5, 2.5]})}

    results: list = []
    threads = [threading.Thread(target=lambda: results.append(cached("demo", "k", slow_build))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # the second waited on the lock, then read what the first wrote
    assert sorted(hit for _, hit in results) == [False, True]
    for parts, _ in results:
        assert np.array_equal(parts["x"], np.arange(1000)) and parts["t"].equals(pd.DataFrame({"a": [1.5, 2.5]}))
    folder = entry_path("demo", "k")
    assert read_entry(folder)["x"].shape == (1000,)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["k", "k.lock"]  # no temp or trash left


def test_keys_must_be_plain_names(fresh_cache):
    with pytest.raises(ValueError, match="plain names"):
        entry_path("demo", "../escape")


def test_an_entry_from_before_checksums_is_named_as_such(tmp_path):
    from artifactual.replication.cache import read_entry

    old = tmp_path / "entry"
    old.mkdir()
    (old / "arrays.npy").write_bytes(b"x")
    (old / "done").write_text("")
    with pytest.raises(ValueError, match="older artifactual without checksums"):
        read_entry(old)
