"""Dataset loaders, registered by name; each loader file's docstring is its data card.

>>> from artifactual.replication.data import DATASETS
>>> DATASETS.names()
['celeba', 'lfw', 'lfw_subset', 'manifest', 'orl', 'ucfcrime', 'utkface']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from artifactual.replication.data.dataset import Dataset, DatasetError
from artifactual.replication.registry import Registry

#: Environment variable naming the data root that holds ``lfw/``, ``utkface/``, ``orl/``, ``ucfcrime/``
#: and ``celeba/``.
DATA_ENV = "ARTIFACTUAL_DATA"


@dataclass(frozen=True)
class Loader:
    """A registered loader: ``build(location, workers=None, progress=None) -> Dataset``.

    ``needs`` says what ``location`` is: ``"none"`` (embedded data), ``"root"`` (a folder under
    the data root named ``subdir``) or ``"manifest"`` (a user's CSV file). ``workers`` and ``progress``
    override the ambient settings for decoding (:func:`~artifactual.replication.parallel.use_settings`;
    None = those); a loader passes them on to :func:`~artifactual.replication.data.dataset.inspect_files`.
    """

    build: Callable[..., Dataset]
    needs: str
    subdir: str | None
    obtain: str  # where a user gets the data; printed when it is missing


DATASETS: Registry[Loader] = Registry("dataset")


def register_dataset(name: str, *, needs: str, subdir: str | None = None, obtain: str = "") -> Callable:
    def decorator(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        DATASETS.register(name)(Loader(fn, needs, subdir, obtain))
        return fn

    return decorator


def resolve_data_root(data_root: str | Path | None, dataset: str = "") -> Path:
    """``--data-root`` if given, else ``$ARTIFACTUAL_DATA``; a clear error when neither exists."""
    chosen = data_root or os.environ.get(DATA_ENV)
    if not chosen:
        hint = DATASETS.get(dataset).obtain if dataset in DATASETS else ""
        raise DatasetError(
            f"dataset {dataset!r} needs a data root: pass --data-root DIR or set {DATA_ENV}=DIR "
            f"(DIR holds lfw/, utkface/, orl/, ucfcrime/ and celeba/)." + (f" {hint}" if hint else "")
        )
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise DatasetError(f"data root {root} does not exist or is not a folder (from "
                           f"{'--data-root' if data_root else DATA_ENV})")
    return root


def load_dataset(
    name: str,
    data_root: str | Path | None = None,
    manifest: str | Path | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> Dataset:
    """Build a registered dataset; every image is inspected and unusable ones are marked skipped.

    ``workers`` and ``progress`` override the ambient settings
    (:func:`~artifactual.replication.parallel.use_settings`; None = those).

    Examples
    --------
    >>> ds = load_dataset("lfw_subset", progress=False)
    >>> len(ds), ds.table["source"].unique().tolist()
    (200, ['skimage_lfw_subset'])
    """
    loader = DATASETS.get(name)
    if loader.needs == "none":
        return loader.build(None, workers=workers, progress=progress)
    if loader.needs == "manifest":
        if manifest is None:
            raise DatasetError(f"dataset {name!r} needs --manifest PATH (a CSV with path,label,source columns)")
        # an explicit data root is the folder the manifest's paths are relative to (default: the CSV's folder)
        return loader.build(Path(manifest), workers=workers, progress=progress,
                            **({"root": Path(data_root)} if data_root is not None else {}))
    root = resolve_data_root(data_root, name)
    folder = root / loader.subdir if loader.subdir else root
    if not folder.is_dir():
        raise DatasetError(f"dataset {name!r}: expected its folder at {folder}, which does not exist. {loader.obtain}")
    return loader.build(folder, workers=workers, progress=progress)


# Register the loaders (one data source per file).
from artifactual.replication.data import celeba, lfw, lfw_subset, manifest as _manifest, orl, ucfcrime, utkface  # noqa: E402,F401
