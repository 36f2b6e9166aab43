"""`artifactual gallery enrol/search`: seed 001's watch-list database, on a dataset's own public faces only."""

from __future__ import annotations

import pytest

from artifactual.app.cli import main


@pytest.mark.realdata
def test_enrol_and_search_orl_people_and_refuse_what_must_be_refused(real_data_root, tmp_path, capsys):
    db = tmp_path / "watch.sqlite"
    base = ["--dataset", "orl", "--data-root", str(real_data_root), "--no-progress", "--workers", "1"]
    assert main(["gallery", "enrol", "--db", str(db), "--people", "6", *base]) == 0
    out = capsys.readouterr().out
    assert "enrolled 6 people of orl" in out and "nobody in it is a criminal" in out
    assert main(["gallery", "search", "--db", str(db), "--person", "s1", "--k", "2", *base]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("att_faces/s1/")]
    found = [ln for ln in lines if "no template" not in ln]
    assert found and sum(ln.split(": ", 1)[1].startswith("s1 ") for ln in found) >= len(found) - 1, lines
    before = db.read_bytes()
    assert main(["gallery", "enrol", "--db", str(db), *base]) == 2  # never overwritten
    assert "exists; a gallery is never overwritten" in capsys.readouterr().err and db.read_bytes() == before
    assert main(["gallery", "search", "--db", str(db), "--person", "nobody", *base]) == 2
    assert "never a user's photograph" in capsys.readouterr().err
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(before[:200])
    assert main(["gallery", "search", "--db", str(damaged), "--person", "s1", *base]) == 2
    assert "is not a gallery" in capsys.readouterr().err and damaged.read_bytes() == before[:200]


def test_gallery_commands_take_no_user_photograph():
    """Search takes a person of the gallery's own dataset: there is no option for an image path."""
    from artifactual.app.commands import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["gallery", "search", "--db", "x", "--dataset", "orl", "--image", "me.jpg",
                                   "--person", "p"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gallery", "enrol", "--db", "x", "--dataset", "manifest"])
