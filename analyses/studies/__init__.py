"""The replications, one file per study; importing this package registers each in
:data:`artifactual.replication.study.STUDIES` (names listed alphabetically; the paper's order is paper/build.SECTIONS).

>>> from artifactual.replication.study import STUDIES
>>> STUDIES.names()
['crimevision', 'goel2022', 'goel2022-fpt', 'knabenhans2024', 'shanmugapriyan']
"""

from artifactual.analyses.studies import crimevision, goel2022, goel2022_fpt, knabenhans2024, shanmugapriyan  # noqa: F401
