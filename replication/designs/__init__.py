"""Confounded designs: claimed labels assigned by photo source, made explicit.

Each design is a dataset whose ``label`` follows its ``source`` column, so anyone reading the table
sees the confound before any model is trained.

Examples
--------
Seed 000's design on the embedded faces (:mod:`.goel2022`): the source alone decides the class.

>>> import pandas as pd
>>> from artifactual.replication.designs.goel2022 import Goel2022Design, build_design, embedded_capture
>>> ds = build_design(Goel2022Design(data="embedded", capture=embedded_capture()))
>>> pd.crosstab(ds.table["source"], ds.table["label"]).to_dict("index")
{'lfw_subset': {0: 50, 1: 0}, 'lfw_subset_mugshot_capture': {0: 0, 1: 50}}
"""
