"""The published systems, rebuilt: their data pipelines and models.

Data flows one way: ``replication`` -> ``analyses`` -> ``paper``. Code here never imports
``artifactual.analyses`` or ``artifactual.paper``.
"""

__version__ = "0.1.0"
