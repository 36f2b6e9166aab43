"""The "name that source" page: self-contained, built from the embedded faces only, its classifier's
guesses out of fold (recomputed here), and it plays in a real headless browser."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artifactual.paper import game
from artifactual.replication.designs.goel2022 import Goel2022Design, build_design, embedded_capture

SCREENSHOT_COPY = Path("/tmp/game_screenshot.png")  # for the lead engineer to look at


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return game.build_game(tmp_path_factory.mktemp("game"), seed=0)


def _data(path: Path) -> dict:
    found = re.search(r'<script type="application/json" id="game-data">(.*?)</script>', path.read_text("utf-8"), re.S)
    assert found, "the page holds no game-data JSON"
    return json.loads(found.group(1))


def test_page_is_self_contained_and_shows_every_embedded_face(page):
    text = page.read_text(encoding="utf-8")
    n_faces = len(build_design(Goel2022Design(data="embedded", capture=embedded_capture())).table)
    assert n_faces == 100
    sources = re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', text)
    assert len(sources) == text.count("<img") == n_faces
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert len(set(sources)) == n_faces  # every face once
    for banned in ("http://", "https://", "<link", "@import", "url("):
        assert banned not in text, banned
    assert not re.search(r"<script[^>]*\bsrc\s*=", text)
    assert "image-rendering: pixelated" in text
    data = _data(page)
    assert len(data["faces"]) == n_faces
    assert {f["truth"] for f in data["faces"]} == {"A", "B"}
    assert page.stat().st_mode & 0o044  # readable by others: mkstemp's private mode was replaced


def test_guesses_are_out_of_fold_and_the_accuracy_shown_is_theirs(page):
    data = _data(page)
    faces = data["faces"]
    names = [p["name"] for p in data["properties"]]
    x = pd.DataFrame([f["properties"] for f in faces])[names]
    y = np.array([f["truth"] == "A" for f in faces], int)
    fold = np.array([f["fold"] for f in faces])
    p_shown = np.array([f["p_a"] for f in faces])
    assert sorted(set(fold.tolist())) == list(range(data["folds"]))
    # each face's probability is that of a model fitted WITHOUT its fold
    for k in range(data["folds"]):
        held = fold == k
        model = game.property_classifier().fit(x[~held], y[~held])
        np.testing.assert_allclose(model.predict_proba(x[held])[:, 1], p_shown[held], rtol=0, atol=1e-9)
    # ... which an in-sample fit would not give: the check above can tell the two apart
    in_sample = game.property_classifier().fit(x, y).predict_proba(x)[:, 1]
    assert np.abs(in_sample - p_shown).max() > 1e-3
    # the guess is the out-of-fold probability thresholded, and the accuracy shown is the guesses'
    guess = np.array([f["guess"] == "A" for f in faces], int)
    np.testing.assert_array_equal(guess, (p_shown > 0.5).astype(int))
    k, n = int((guess == y).sum()), len(y)
    acc = data["accuracy"]
    assert (acc["correct"], acc["n"]) == (k, n)
    # Wilson score interval by hand (z = 1.96): centre and half-width of the usual formula
    z = 1.959963984540054
    centre = (k / n + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(k / n * (1 - k / n) / n + z * z / (4 * n * n))
    np.testing.assert_allclose(acc["ci95"], [centre - half, centre + half], atol=1e-9)
    assert f"<b>{k} / {n}</b>" in page.read_text(encoding="utf-8")
    # every face says why, in words, 2-3 properties, each pointing to A or B
    for f in faces:
        assert 2 <= len(f["why"]) <= game.N_REASONS
        assert all(re.search(r": (high|low) for this photo .*which points to [AB]$", w) for w in f["why"])


def test_seed_shuffles_the_order_of_the_same_faces(page):
    first = [f["id"] for f in _data(page)["faces"]]
    other, images = game.game_data(seed=1)
    assert sorted(first) == sorted(f["id"] for f in other["faces"]) and first != [f["id"] for f in other["faces"]]
    assert len(images) == len(first)


def test_unwritable_out_names_the_folder(tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(OSError, match="file.txt"):
        game.build_game(not_a_folder)
    with pytest.raises(OSError, match="file.txt"):
        game.build_game(not_a_folder / "inside")
    assert not_a_folder.read_text() == "x"


def test_command_line_prints_the_page(tmp_path, capsys):
    assert game.main(["--out", str(tmp_path / "site")]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == tmp_path / "site" / game.GAME_FILE and written.is_file()
    assert [p.name for p in written.parent.iterdir()] == [game.GAME_FILE]  # no temporary file left behind


def test_the_game_plays_in_a_headless_browser(page, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in this venv")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian's `chromium` package); the browser test needs one")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1000, "height": 1100})
            tab.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            tab.goto(page.resolve().as_uri())
            visible = tab.locator("img.face:visible")
            assert visible.count() == 1
            first_src = visible.get_attribute("src")
            assert first_src == tab.locator("img.face").first.get_attribute("src")
            assert tab.evaluate("document.querySelector('img.face:not([hidden])').naturalWidth") > 0
            score = tab.locator("#score")
            assert "0 / 0" in score.inner_text()
            tab.click("#guess-A")
            assert re.fullmatch(r"you [01] / 1, classifier [01] / 1", score.inner_text())
            reveal = tab.locator("#reveal")
            assert reveal.is_visible()
            text = reveal.inner_text()
            assert "The classifier guessed" in text and "True source" in text and "which points to" in text
            assert tab.locator("#guess-A").is_disabled()
            shot = tmp_path / "game_screenshot.png"
            tab.screenshot(path=str(shot), full_page=True)
            shutil.copyfile(shot, SCREENSHOT_COPY)
            tab.click("#next")
            assert visible.count() == 1 and visible.get_attribute("src") != first_src
            assert not reveal.is_visible() and tab.locator("#guess-B").is_enabled()
            tab.click("#guess-B")
            assert re.fullmatch(r"you [012] / 2, classifier [012] / 2", score.inner_text())
        finally:
            browser.close()
    assert errors == []
    assert shot.read_bytes()[:4] == b"\x89PNG"
