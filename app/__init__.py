"""The top of the pipeline: the ``artifactual`` command line (``cli``) and ``make bench`` (``bench``).

Layers, each importing only those before it: ``replication`` (data, designs, models, the core:
config, registry, runs, cache, parallel, study) -> ``analyses`` (statistics, the audit, the studies)
-> ``paper`` (figures from results, the PDF) -> ``app``.
"""
