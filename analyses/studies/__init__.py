"""The replications, one file per study; importing this package registers each in
:data:`artifactual.replication.study.STUDIES` (names listed alphabetically; the paper's order is paper/build.SECTIONS).

>>> from artifactual.replication.study import STUDIES
>>> STUDIES.names()
['adams2020', 'crimevision', 'goel2022', 'goel2022-fpt', 'knabenhans2024', 'shanmugapriyan']
"""

from artifactual.analyses.studies import (adams2020, crimevision, goel2022, goel2022_fpt, knabenhans2024,  # noqa: F401
                                          shanmugapriyan)
