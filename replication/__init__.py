"""The published systems, rebuilt: their data pipelines and models, and the core every study runs on
(config, registry, runs, cache, parallel, study).

Imports point one way: ``replication`` -> ``analyses`` -> ``paper`` -> ``app``. Code here imports
nothing from the layers above it (a test reads every module's imports).
"""

__version__ = "0.1.0"
