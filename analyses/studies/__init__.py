"""The replications, one file per study; importing this package registers each in
:data:`artifactual.replication.study.STUDIES` (in the paper's reading order).

>>> from artifactual.replication.study import STUDIES
>>> STUDIES.names()
['goel2022', 'goel2022-fpt', 'knabenhans2024', 'shanmugapriyan']
"""

from artifactual.analyses.studies import goel2022, goel2022_fpt, knabenhans2024, shanmugapriyan  # noqa: F401
