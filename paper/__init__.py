"""The report, built from results by one command (``make paper``: ``paper/build.py``).

The paper sits on top: it reads result folders and nothing below imports it. ``paper/figures/``
draws each result folder's figures from its ``summary.json`` and figure data (one module per
figure set, registered by result kind); ``build.py`` calls it for every section, copies the
figures to ``paper/build/figures/`` and compiles ``main.typ`` and ``sections/*.typ`` with Typst.
"""
