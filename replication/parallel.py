"""The one executor: every "run this on many items" in the project goes through here.

Two engines, one code path (joblib):

- ``loky`` (default): joblib's process pool on this machine. Workers are clean processes (no fork of a
  parent whose OpenCV or torch thread pools have started: that deadlocked here), they are reused between
  calls, and they exit on their own when the parent dies (a ``kill -9`` of the parent leaves no orphans;
  the old hand-made forkserver pool left four processes behind for minutes).
- ``dask``: Dask distributed, for users who outgrow one machine. Give a ``scheduler`` address
  (``tcp://HOST:PORT``) or get a :class:`distributed.LocalCluster` with one single-threaded worker per core.
  joblib runs on it through ``parallel_config(backend="dask")``.

How many processes and whether to draw progress bars are ambient settings (:func:`use_settings`): the
command line sets them once, and every :func:`run_parallel` and :func:`map_units` inside reads them, so the
layers in between do not pass them along. The low-level entry points still take ``workers=``/``progress=``
as overrides.

Results never depend on the engine or on the number of workers: :func:`run_parallel` returns results in
item order, and every unit of :func:`map_units` derives its seeds from its own config.

Examples
--------
>>> run_parallel(abs, [-1, 2, -3], "abs", workers=1, progress=False)
[1, 2, 3]
>>> with use_settings(workers=1, progress=False):
...     sorted(r for _, r in map_units(abs, [-1, 2]))
[1, 2]
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator

from tqdm.auto import tqdm

ENGINES = ("loky", "dask")
#: below this many items run_parallel runs in this process: starting workers costs more than it saves
MIN_PARALLEL_ITEMS = 64
#: run_parallel sends each worker about this many chunks of items: few enough that dispatch costs
#: nothing beside the work, enough that a slow chunk at the end leaves the other workers little idle
CHUNKS_PER_WORKER = 8

_ACTIVE: contextvars.ContextVar[str | None] = contextvars.ContextVar("artifactual_engine", default=None)
_WORKER_READY = False


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RunSettings:
    """How work runs, never what it computes: processes (None = every core) and progress bars.

    Set for a block with :func:`use_settings`; read with :func:`current_workers` and :func:`current_progress`.
    A context variable, so it does not cross into worker processes by itself: :func:`run_parallel` and
    :func:`map_units` hand the submitting block's settings to each item, which runs under them with progress
    bars off (a worker draws no bars of its own).
    """

    workers: int | None = None
    progress: bool = True


_SETTINGS: contextvars.ContextVar[RunSettings] = contextvars.ContextVar("artifactual_settings",
                                                                        default=RunSettings())


@contextmanager
def use_settings(workers: int | None = None, progress: bool = True) -> Iterator[RunSettings]:
    """Run everything inside the block with ``workers`` processes (None = every core) and, if ``progress``,
    progress bars; the previous settings come back at the end of the block.

    >>> current_progress()
    True
    >>> with use_settings(workers=3, progress=False) as settings:
    ...     current_workers(), current_progress(), settings
    (3, False, RunSettings(workers=3, progress=False))
    >>> current_workers() == default_workers(), current_progress()
    (True, True)
    """
    settings = RunSettings(workers, bool(progress))
    token = _SETTINGS.set(settings)
    try:
        yield settings
    finally:
        _SETTINGS.reset(token)


def current_workers() -> int:
    """Processes for the innermost :func:`use_settings` block (every core when it sets none, or outside any)."""
    return _SETTINGS.get().workers or default_workers()


def current_progress() -> bool:
    """Whether the innermost :func:`use_settings` block shows progress bars (True outside any)."""
    return _SETTINGS.get().progress


def check_engine(engine: str, scheduler: str | None = None) -> str:
    """``engine`` if it is one of :data:`ENGINES` (and ``scheduler`` only with ``dask``), else a clear error.

    >>> check_engine("loky")
    'loky'
    >>> check_engine("ray")
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'ray': choose one of loky, dask
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if scheduler and engine != "dask":
        raise ValueError(f"a scheduler address ({scheduler}) needs engine 'dask', not {engine!r}")
    if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise ValueError(f"scheduler {scheduler!r} is not an address like tcp://HOST:PORT")
    return engine


def active_engine() -> str:
    """The engine of the innermost :func:`use_engine` block (``loky`` outside any)."""
    return _ACTIVE.get() or "loky"


@contextmanager
def use_engine(engine: str = "loky", scheduler: str | None = None, workers: int | None = None) -> Iterator[str]:
    """Run every :func:`run_parallel` and :func:`map_units` inside the block on ``engine``.

    For ``dask`` this connects to ``scheduler`` (or starts a LocalCluster of ``workers`` processes, None =
    :func:`current_workers`) once for the whole block and closes it at the end.

    >>> with use_engine("loky"):
    ...     active_engine()
    'loky'
    """
    check_engine(engine, scheduler)
    if engine == "loky" or _ACTIVE.get() == "dask" and not scheduler:
        token = _ACTIVE.set(engine)
        try:
            yield engine
        finally:
            _ACTIVE.reset(token)
        return
    import joblib

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("engine 'dask' needs Dask distributed: pip install 'artifactual[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers or current_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    token = _ACTIVE.set("dask")
    try:
        with joblib.parallel_config(backend="dask"):
            yield "dask"
    finally:
        _ACTIVE.reset(token)
        client.close()
        if cluster is not None:
            cluster.close()


def worker_init() -> None:
    """Once per worker process: one OpenCV thread (the pool already uses every core)."""
    global _WORKER_READY
    if _WORKER_READY:
        return
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - cv2 is a hard dependency
        pass
    _WORKER_READY = True


_WATCHING = False


def _watch_parent(parent: int) -> None:
    """End this worker as soon as ``parent`` dies. Measured here: after a ``kill -9`` of the parent, loky's
    workers kept running (and the resource tracker with them) for over 90 s; with this, under 2 s."""
    global _WATCHING
    if _WATCHING or os.getppid() != parent:  # not our direct child (a Dask nanny's worker): its nanny watches
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="artifactual-parent-watch", daemon=True).start()
    _WATCHING = True


class _Call:
    """``fn(item)`` in a worker: sets the worker up once, and names the item when ``fn`` raises.

    Away from the submitting thread (a worker process, a Dask worker thread) ``fn`` runs under the
    submitting block's :class:`RunSettings` (context variables cross neither) with progress bars off;
    in the submitting thread, under the settings it already sees."""

    def __init__(self, fn: Callable[[Any], Any], desc: str, tag: bool = False):
        self.fn, self.desc, self.tag = fn, desc, tag
        self.parent = os.getpid()  # the process that submits the items
        self.thread = threading.get_ident()
        self.settings = replace(_SETTINGS.get(), progress=False)

    def __call__(self, index: int, item: Any) -> Any:
        return self.many(index, [item])[0]

    def many(self, start: int, items: list[Any]) -> list[Any]:
        """``fn`` on each of ``items`` (numbered from ``start``), set up once for the whole chunk."""
        worker_init()
        if os.getpid() != self.parent:
            _watch_parent(self.parent)
        elif threading.get_ident() == self.thread:
            return [self._run(start + i, x) for i, x in enumerate(items)]
        with use_settings(self.settings.workers, self.settings.progress):
            return [self._run(start + i, x) for i, x in enumerate(items)]

    def _run(self, index: int, item: Any) -> Any:
        try:
            result = self.fn(item)
        except Exception as exc:  # keep the type callers catch; the note travels back with it (pickled)
            exc.__notes__ = [*getattr(exc, "__notes__", []), f"{self.desc}: item {index} ({_short(item)}) failed"]
            raise
        return (item, result) if self.tag else result


def _short(item: Any, limit: int = 200) -> str:
    text = repr(item)
    return text if len(text) <= limit else text[:limit] + "..."


@contextmanager
def _parallel(n_jobs: int, return_as: str, batch_size: int | str = "auto",
              inner_threads: int | None = None) -> Iterator[Any]:
    """A joblib.Parallel on the active engine; iterate its results inside the block (joblib reads the
    loky thread cap ``inner_threads`` when it dispatches; None = cores / workers)."""
    import joblib

    if active_engine() == "dask":  # the backend comes from use_engine's parallel_config
        yield joblib.Parallel(n_jobs=-1, return_as=return_as, batch_size=batch_size)
        return
    with joblib.parallel_config(backend="loky", inner_max_num_threads=inner_threads):
        yield joblib.Parallel(n_jobs=n_jobs, return_as=return_as, batch_size=batch_size)


def run_parallel(
    fn: Callable[[Any], Any], items: list[Any], desc: str, *, workers: int | None = None,
    progress: bool | None = None, engine: str | None = None, scheduler: str | None = None,
) -> list[Any]:
    """``[fn(x) for x in items]`` on all cores (or a Dask cluster), in order, with a progress bar ``desc``.

    ``workers`` and ``progress`` override the ambient settings (:func:`use_settings`; None = those). With
    ``workers <= 1`` or fewer than :data:`MIN_PARALLEL_ITEMS` items it runs here, one by one. ``engine``
    (``loky`` or ``dask``) defaults to the one of the enclosing :func:`use_engine` block. A failing item's
    exception reaches the caller with its own type and a note naming the item (``exc.__notes__``).

    >>> run_parallel(str, list(range(3)), "str", workers=2, progress=False)
    ['0', '1', '2']
    """
    workers = workers or current_workers()
    progress = current_progress() if progress is None else progress
    if engine is not None and (engine != active_engine() or scheduler):
        with use_engine(engine, scheduler, workers):
            return run_parallel(fn, items, desc, workers=workers, progress=progress)
    items = list(items)
    bar = dict(total=len(items), desc=desc, disable=not progress, unit="img")
    call = _Call(fn, desc)
    if active_engine() == "loky" and (workers <= 1 or len(items) < MIN_PARALLEL_ITEMS):
        return [call(i, x) for i, x in tqdm(enumerate(items), **bar)]
    from joblib import delayed

    # Items travel in chunks, CHUNKS_PER_WORKER per worker: one task per image cost a dispatch, a
    # pickle each way and a result callback in the parent for every 0.5 ms decode, and two workers
    # decoded 5,000 LFW images only 1.3-1.5x as fast as one (issue 20).
    size = max(1, -(-len(items) // (workers * CHUNKS_PER_WORKER)))
    out: list[Any] = []
    with _parallel(workers, "generator", 1) as parallel, tqdm(**bar) as pbar:
        for part in parallel(delayed(call.many)(i, items[i:i + size]) for i in range(0, len(items), size)):
            out.extend(part)
            pbar.update(len(part))
    return out


def map_units(fn: Callable[[Any], Any], units: Iterable[Any], *, workers: int | None = None,
              engine: str | None = None, scheduler: str | None = None) -> Iterator[tuple[Any, Any]]:
    """``(unit, fn(unit))`` pairs as each unit finishes (any order), so a caller can record each at once.

    ``workers`` overrides the ambient :func:`current_workers` (read when iteration starts; None = that).
    Units start in the given order (put the longest first). With one worker they run here. Closing the
    iterator early (an exception in the caller, Ctrl-C) stops the workers instead of waiting for their
    units. A worker that dies raises joblib's ``TerminatedWorkerError`` (loky) or distributed's
    ``KilledWorker``; the units already yielded are kept by the caller.
    """
    units = list(units)
    workers = workers or current_workers()
    if engine is not None and (engine != active_engine() or scheduler):
        with use_engine(engine, scheduler, workers):
            yield from map_units(fn, units, workers=workers)
        return
    call = _Call(fn, "unit", tag=True)
    if active_engine() == "loky" and (workers <= 1 or len(units) <= 1):
        for i, u in enumerate(units):
            yield call(i, u)
        return
    from joblib import delayed

    # joblib caps each loky worker's BLAS/OpenMP threads at cores / workers; a unit keeps torch's default
    # of every core as the old pool did (measured: the CNN trains no slower beside a busy worker, and 1.8x
    # faster once the other worker has run out of units).
    with _parallel(min(workers, len(units)), "generator_unordered", 1, default_workers()) as parallel:
        yield from parallel(delayed(call)(i, u) for i, u in enumerate(units))


def worker_died_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a worker process died (killed, out of memory) rather than a unit failing."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    errors: tuple[type[BaseException], ...] = (TerminatedWorkerError,)
    try:
        from distributed.scheduler import KilledWorker

        errors += (KilledWorker,)
    except ImportError:  # dask is optional
        pass
    return errors
