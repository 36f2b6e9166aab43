"""The audit: tests of what the replicated classifiers actually learn, and the command line.

Code here may import ``artifactual.replication``; never the other way round.
"""
