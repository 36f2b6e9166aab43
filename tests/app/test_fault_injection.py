"""Fault injection: an audit killed by SIGINT, SIGTERM or SIGKILL at a random point resumes to the same answer.

Each case starts ``artifactual audit`` as a subprocess in a session of its own (so every process of the run,
loky workers included, can be found afterwards by its session id) on a small synthetic dataset with a fresh
decoding cache, kills it at a point drawn from a seeded generator, then runs the same command again and checks:

- the killed run: SIGINT and SIGTERM end it with 130 / 143 and one "Resume with:" line, no traceback;
- no process of the killed run (or of the resumed one) is left alive;
- the resumed run exits 0; ``records.jsonl`` still begins with every complete line the killed run wrote
  (a finished record is never rewritten), every unit appears exactly once, and the resume computed exactly
  the units that had no complete line (so at most the unit in progress was computed again);
- ``summary.json`` equals the uninterrupted reference run's value by value, timings and locations excluded.

Kill points: ``startup`` (before the manifest is read: imports), ``decoding`` (while the images are decoded,
in worker processes), ``between_units`` (the moment the k-th record line appears), ``random`` (any time in the
run) and ``torn`` (between units, then the last line is cut at a random byte, which is what a kill in the
middle of a write leaves: a SIGKILL landing inside the microseconds of a write is too rare to wait for).

The fast cases (one kill per signal and a torn write) run in ``make test``; the soak (24 kills) is marked slow.
Every failure message names the case (signal, point, seed) and the folder it ran in; rerun one case with
``pytest tests/app/test_fault_injection.py -k <name>`` (the generator is seeded, the timing is not).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import psutil
import pytest
from PIL import Image

SEED = 15  # the issue this suite answers; each case draws from default_rng([SEED, case.seed])

#: settings that make one uninterrupted audit take about 11 s here (2 cores): 2.3 s of imports, 1 s of
#: decoding, 3 s of units, 4 s of figures
SETTINGS = ("detect_face=false", "size=24", "audit.n_boot=50", "audit.n_perm=50", "audit.interval_draws=10",
            "audit.repeats=2", "headline.cv_repeats=1", "headline.interval_draws=5")
EXIT = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}
GONE_WITHIN_S = 15  # loky workers check their parent every 0.5 s; the resource tracker follows them
RUN_LIMIT_S = 180


@dataclass(frozen=True)
class Kill:
    """One fault: ``sig`` sent at ``point`` to the main process or (``group``) its whole process group, as a
    terminal's Ctrl-C does."""

    sig: signal.Signals
    point: str  # startup | decoding | between_units | random | torn
    seed: int
    group: bool = False

    def __str__(self) -> str:
        return f"{self.sig.name} at {self.point} to the {'process group' if self.group else 'main process'}, " \
               f"seed [{SEED}, {self.seed}]"


@dataclass(frozen=True)
class Reference:
    """The uninterrupted run: its summary, units in the order written, and when each phase began (s)."""

    summary: dict
    units: tuple[str, ...]
    seconds: float
    decoding_at: float  # skipped.csv written: the manifest is read and decoding starts
    units_at: float  # the run folder exists: decoding is over
    summary_at: float


# --- the dataset and the command -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """96 small images (at least 64, so decoding runs in worker processes), two sources, two classes,
    20 people a class; source s1 is brighter and mostly class a, so the battery has something to find."""
    root = tmp_path_factory.mktemp("faults-data")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(96):
        cls = "a" if i % 2 == 0 else "b"
        usual = (i // 2) % 4 < 3
        src = ("s1" if usual else "s2") if cls == "a" else ("s2" if usual else "s1")
        img = cv2.GaussianBlur(rng.normal(110, 40, (40, 40, 3)), (0, 0), 2) + (30 if src == "s1" else 0)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / f"{i}.jpg", quality=90)
        rows.append({"path": f"{i}.jpg", "y": cls, "src": src, "person": f"{cls}{(i // 2) % 20}"})
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return root / "m.csv"


def _argv(manifest: Path, out: Path) -> list[str]:
    argv = ["audit", "--manifest", str(manifest), "--label", "y", "--source", "src", "--identity", "person",
            "--out", str(out), "--models", "pixel_logreg", "--workers", "2", "--no-progress"]
    for s in SETTINGS:
        argv += ["--set", s]
    return argv


def _start(argv: list[str], cache: Path, logs: Path) -> subprocess.Popen:
    """The CLI in a new session (its id is the process id), output to files (a full pipe cannot stall it)."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ARTIFACTUAL_CACHE": str(cache)}
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "artifactual.app.cli", *argv], stdout=out, stderr=err,
                                env=env, start_new_session=True)


def _finish(proc: subprocess.Popen, logs: Path, limit: float = RUN_LIMIT_S) -> tuple[int | None, str]:
    """Wait for ``proc`` (SIGKILL it past ``limit``); its return code (None if it had to be killed) and stderr."""
    try:
        rc = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = None
    return rc, (logs / "stderr").read_text(errors="replace")


# --- what the run left behind --------------------------------------------------------------------------

def _session(sid: int) -> list[psutil.Process]:
    """Living processes of session ``sid`` (a zombie has ended: it only waits for its parent to read it)."""
    found = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and os.getsid(p.pid) == sid:
                found.append(p)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def _survivors(sid: int, within: float = GONE_WITHIN_S) -> list[str]:
    """Command lines of the session's processes still alive after ``within`` s; they are then killed, so one
    failure does not slow or skew the cases after it."""
    deadline = time.monotonic() + within
    while (left := _session(sid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    said = []
    for p in left:
        try:
            said.append(f"pid {p.pid}: {' '.join(p.cmdline())[:200]}")
            p.kill()
        except psutil.Error:
            continue
    return said


def _records_file(out: Path) -> Path | None:
    found = sorted((out / "runs").glob("audit-*/records.jsonl")) if (out / "runs").is_dir() else []
    return found[0] if found else None


def _complete(data: bytes) -> bytes:
    """The bytes up to and with the last newline: the records a reader keeps."""
    return data[: data.rfind(b"\n") + 1]


def _units(data: bytes) -> list[str]:
    return [json.loads(line)["unit"] for line in data.splitlines() if line.strip()]


def _results(value, key: str = ""):
    """``value`` without what differs between two runs of the same audit and is not a result: timings (every
    key naming seconds), where the run folder is, whether decoding came from the cache, what reopening the
    run folder repaired (said separately), and the git commit (taken when a run starts; the working tree
    changes under a long soak while people edit)."""
    if isinstance(value, dict):
        drop = {"run_dir", "from_cache", "run_folder_repaired", "git_commit"}
        return {k: _results(v, k) for k, v in value.items() if "seconds" not in k and k not in drop}
    if isinstance(value, list):
        return [_results(v) for v in value]
    return value


def _differences(a, b, where: str = "summary") -> list[str]:
    """Every place where ``a`` and ``b`` differ; floats exactly (both runs compute the same units from the
    same seeds and the same decoded arrays, in one process each, so any difference is a real one)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in the {'reference' if k in a else 'resumed run'}" for k in set(a) ^ set(b)]
        return out + [d for k in a if k in b for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b and type(a) is type(b) else [f"{where}: reference {a!r:.80} != resumed {b!r:.80}"]


# --- the reference ---------------------------------------------------------------------------------------

def _code_version() -> str:
    """A hash of the package's source files. A killed-and-resumed run is compared only with a reference run of
    the same code: in a checkout that people edit while a soak runs, a changed check is not a resume bug."""
    import artifactual.analyses
    import artifactual.app
    import artifactual.paper
    import artifactual.replication

    h = hashlib.sha256()
    for package in (artifactual.analyses, artifactual.app, artifactual.paper, artifactual.replication):
        for f in sorted(Path(package.__file__).parent.rglob("*.py")):
            h.update(str(f).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


class References:
    """The uninterrupted run of the current code (run again when the source files change), with the moment
    each phase began (the kill points are drawn from these)."""

    def __init__(self, manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.manifest, self.tmp_path_factory = manifest, tmp_path_factory
        self.runs: dict[str, Reference] = {}

    def get(self, code: str) -> Reference:
        while code not in self.runs:
            self.runs[code] = self._run()
            if _code_version() != code:  # edited while the reference ran: neither version is known
                self.runs.clear()
                code = _code_version()
        return self.runs[code]

    def _run(self) -> Reference:
        tmp = self.tmp_path_factory.mktemp("faults-reference")
        out = tmp / "out"
        t0 = time.monotonic()
        proc = _start(_argv(self.manifest, out), tmp / "cache", tmp / "logs")
        seen: dict[str, float] = {}
        while proc.poll() is None and time.monotonic() - t0 < RUN_LIMIT_S:
            for name, path in (("decoding", out / "skipped.csv"), ("units", out / "runs"),
                               ("summary", out / "summary.json")):
                if name not in seen and path.exists():
                    seen[name] = time.monotonic() - t0
            time.sleep(0.01)
        rc, err = _finish(proc, tmp / "logs")
        seconds = time.monotonic() - t0
        assert rc == 0, f"the uninterrupted reference run failed (exit {rc}):\n{err[-3000:]}"
        assert not _survivors(proc.pid), "the uninterrupted reference run left processes behind"
        units = tuple(_units(_records_file(out).read_bytes()))
        print(f"reference run: {seconds:.1f} s; decoding from {seen['decoding']:.1f} s, units from "
              f"{seen['units']:.1f} s, summary at {seen['summary']:.1f} s; {len(units)} units")
        return Reference(json.loads((out / "summary.json").read_text()), units, seconds, seen["decoding"],
                         seen["units"], seen["summary"])


@pytest.fixture(scope="module")
def references(manifest, tmp_path_factory) -> References:
    return References(manifest, tmp_path_factory)


# --- one case --------------------------------------------------------------------------------------------

def _wait_until(proc: subprocess.Popen, ready, limit: float = RUN_LIMIT_S) -> bool:
    """Poll every 2 ms until ``ready()``; False if the process ended (or ``limit`` passed) first."""
    deadline = time.monotonic() + limit
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def _line_count(out: Path) -> int:
    f = _records_file(out)
    try:
        return f.read_bytes().count(b"\n") if f else 0
    except FileNotFoundError:
        return 0


def _phase(out: Path) -> str:
    """Where the run was, judged from what it had written."""
    if (out / "summary.json").exists():
        return "after the summary (drawing figures)"
    if (out / "runs").exists():
        return f"units ({_line_count(out)} records written)"
    return "decoding" if (out / "skipped.csv").exists() else "startup (the manifest not yet read)"


def _inject(kill: Kill, proc: subprocess.Popen, out: Path, ref: Reference, rng: np.random.Generator) -> str:
    """Wait for ``kill.point``, send the signal; say what was hit (the phase, and the processes alive)."""
    t0 = time.monotonic()
    if kill.point == "startup":  # from 0.1 s: the interpreter's own first ~30 ms run no code of ours
        wait = rng.uniform(0.1, ref.decoding_at)
        reached = _wait_until(proc, lambda: time.monotonic() - t0 >= wait)
    elif kill.point == "random":
        wait = rng.uniform(0, 0.95 * ref.seconds)
        reached = _wait_until(proc, lambda: time.monotonic() - t0 >= wait)
    elif kill.point == "decoding":
        wait = rng.uniform(0, ref.units_at - ref.decoding_at)
        reached = _wait_until(proc, lambda: (out / "skipped.csv").exists())
        start = time.monotonic()
        reached = reached and _wait_until(proc, lambda: time.monotonic() - start >= wait)
        wait = f"{wait:.2f} s after decoding began"
    else:  # between_units, torn: right after the k-th record line appears
        k = int(rng.integers(1, len(ref.units)))
        reached = _wait_until(proc, lambda: _line_count(out) >= k)
        wait = f"record line {k} of {len(ref.units)} appeared"
    if not reached:
        return f"nothing: the run ended before the kill ({wait})"
    phase, alive = _phase(out), len(_session(proc.pid))
    try:
        if kill.group:
            os.killpg(proc.pid, kill.sig)
        else:
            proc.send_signal(kill.sig)
    except ProcessLookupError:
        return f"nothing: the run ended before the kill ({wait})"
    wait = f"{wait:.2f} s after the start" if isinstance(wait, float) else wait
    return f"{phase}, {alive} processes alive, {wait}"


def _tear(records: Path, rng: np.random.Generator) -> str:
    """Cut the last line at a random byte inside it (at least one byte kept, at most all but its newline)."""
    data = records.read_bytes()
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    cut = int(rng.integers(start + 1, len(data)))
    records.write_bytes(data[:cut])
    return f"last line cut to {cut - start} of its {len(data) - start} bytes"


def run_case(kill: Kill, manifest: Path, ref: Reference, tmp: Path) -> tuple[bool, list[str]]:
    """Kill, resume, check: whether the signal reached a running audit, and every problem found (none when
    the case passed), each naming the case."""
    rng = np.random.default_rng([SEED, kill.seed])
    out, cache = tmp / "out", tmp / "cache"  # a fresh cache: the killed run decodes, as the reference did
    argv = _argv(manifest, out)
    problems: list[str] = []
    proc = _start(argv, cache, tmp / "killed")
    hit = _inject(kill, proc, out, ref, rng)
    rc, err = _finish(proc, tmp / "killed", limit=60)
    said = f"{kill}: killed during {hit}; exit {rc}; folder {tmp}"
    interrupted = not hit.startswith("nothing")
    if rc is None:
        problems.append("the run did not end within 60 s of the signal")
    finished_first = rc == 0 and kill.sig in EXIT and (tmp / "killed" / "stdout").is_file() and any(
        ln.startswith("wrote ") and ln.rstrip().endswith("figures")
        for ln in (tmp / "killed" / "stdout").read_text().splitlines())
    if finished_first:  # the command had written everything and returned; the signal met the interpreter's exit
        said += " (the command had finished: exit 0 is right)"
    elif interrupted and rc is not None:
        if kill.sig in EXIT:
            code, word = EXIT[kill.sig]
            lines = [ln for ln in err.splitlines() if "Resume with:" in ln]
            if rc != code:
                problems.append(f"exit {rc}, not {code}")
            if len(lines) != 1 or f"artifactual: {word};" not in lines[0]:
                problems.append(f"stderr should hold one 'artifactual: {word}; ... Resume with:' line, holds "
                                f"{len(lines)}")
            elif shlex.split(lines[0].split("Resume with: ", 1)[1]) != ["artifactual", *argv]:
                problems.append(f"the resume command is not the command that ran: {lines[0]}")
            if "Traceback" in err:
                problems.append(f"stderr holds a traceback:\n{err[-2000:]}")
        elif rc != -kill.sig:
            problems.append(f"exit {rc}, not {-kill.sig} (killed by {kill.sig.name})")
    elif rc is not None and rc != 0:
        problems.append(f"the run ended on its own with exit {rc}:\n{err[-2000:]}")
    left = _survivors(proc.pid)
    if left:
        problems.append(f"{len(left)} processes of the killed run still alive {GONE_WITHIN_S} s after it ended: "
                        + "; ".join(left))

    records = _records_file(out)
    if kill.point == "torn" and records is not None and records.stat().st_size:
        said += "; " + _tear(records, rng)
    before = records.read_bytes() if records is not None else b""
    kept = _complete(before)
    present = _units(kept)

    proc = _start(argv, cache, tmp / "resumed")
    rc, err = _finish(proc, tmp / "resumed")
    left = _survivors(proc.pid)
    if left:
        problems.append(f"{len(left)} processes of the resumed run still alive after it ended: " + "; ".join(left))
    if rc != 0:
        problems.append(f"the resumed run failed (exit {rc}):\n{err[-3000:]}")
        return interrupted, [f"{said}: {p}" for p in problems]

    after = _records_file(out).read_bytes()
    if not after.startswith(kept):
        problems.append(f"the resume rewrote finished records: the file no longer begins with the "
                        f"{len(kept)} bytes of {len(present)} complete lines the killed run left")
    counts = Counter(_units(after))
    missing = sorted(set(ref.units) - set(counts))
    twice = sorted(u for u, n in counts.items() if n > 1)
    extra = sorted(set(counts) - set(ref.units))
    if missing or twice or extra:
        problems.append(f"units missing {missing}, written more than once {twice}, unexpected {extra}")
    recomputed = len(_units(after[len(kept):])) if after.startswith(kept) else None
    if recomputed != len(ref.units) - len(present):
        problems.append(f"the resume computed {recomputed} units; {len(present)} of {len(ref.units)} were on disk, "
                        f"so it should have computed {len(ref.units) - len(present)}")
    torn = len(before) > len(kept)
    summary = json.loads((out / "summary.json").read_text())
    repaired = "dropped a torn last line" in err
    if torn != repaired or torn != bool(summary["preprocessing"].get("run_folder_repaired")):
        problems.append(f"records.jsonl {'had' if torn else 'had no'} torn last line, but the resume's stderr "
                        f"{'says' if repaired else 'does not say'} it dropped one and summary.json "
                        f"{'records' if summary['preprocessing'].get('run_folder_repaired') else 'has no'} repair")
    diffs = _differences(_results(ref.summary), _results(summary))
    if diffs:
        problems.append(f"summary.json differs from the uninterrupted run in {len(diffs)} places: "
                        + "; ".join(diffs[:10]))
    print(f"{said}: {len(present)} units kept, {recomputed} computed by the resume"
          + (f"; problems: {len(problems)}" if problems else ""))
    return interrupted, [f"{said}: {p}" for p in problems]


def checked_case(kill: Kill, manifest: Path, references: References, tmp: Path) -> tuple[bool, list[str]]:
    """:func:`run_case` against the reference of the code it ran; run again (up to 3 tries) when the package's
    source files changed during the case, since its two runs then ran different code."""
    for attempt in range(3):
        code = _code_version()
        hit, problems = run_case(kill, manifest, references.get(code), tmp / f"try{attempt}")
        if _code_version() == code:
            return hit, problems
        print(f"{kill}: the package's source files changed during the case; running it again")
    moving = f"{kill}: the package's source files changed during each of 3 tries, so no run was checked against " \
             "a reference of its own code"
    return hit, [*problems, moving]


# --- the cases -------------------------------------------------------------------------------------------

FAST = [Kill(signal.SIGINT, "decoding", 1, group=True),  # Ctrl-C in a terminal reaches the workers too
        Kill(signal.SIGTERM, "between_units", 2),
        Kill(signal.SIGKILL, "between_units", 3),  # the idle decoding workers must notice their parent died
        Kill(signal.SIGKILL, "torn", 4)]


@pytest.mark.parametrize("kill", FAST, ids=lambda k: f"{k.sig.name}-{k.point}")
def test_a_killed_audit_resumes_to_the_uninterrupted_summary(kill, manifest, references, tmp_path):
    interrupted, problems = checked_case(kill, manifest, references, tmp_path)
    assert interrupted, f"{kill}: the run ended before the kill, so nothing was tested"
    assert not problems, "\n\n".join(problems)


SOAK_POINTS = ("startup", "decoding", "decoding", "between_units", "between_units", "random", "random", "torn")
SOAK = [Kill(sig, point, 100 + 10 * s + i, group=sig == signal.SIGINT and i % 2 == 0)
        for s, sig in enumerate((signal.SIGINT, signal.SIGTERM, signal.SIGKILL))
        for i, point in enumerate(SOAK_POINTS)]


@pytest.mark.slow
def test_soak_every_kill_resumes_to_the_uninterrupted_summary(manifest, references, tmp_path):
    """24 kills (8 a signal, over every kill point), each resumed and checked; all failures are reported."""
    t0 = time.monotonic()
    failures, interrupted = {}, 0
    for i, kill in enumerate(SOAK):
        hit, problems = checked_case(kill, manifest, references, tmp_path / f"case{i:02d}")
        interrupted += hit
        if problems:
            failures[str(kill)] = problems
    print(f"soak: {len(SOAK) - len(failures)} of {len(SOAK)} kills passed ({interrupted} reached a running "
          f"audit) in {time.monotonic() - t0:.0f} s")
    assert interrupted >= 20, f"only {interrupted} of {len(SOAK)} signals reached a running audit; 20 are needed"
    assert not failures, f"{len(failures)} of {len(SOAK)} kills failed:\n\n" + "\n\n".join(
        p for problems in failures.values() for p in problems)
