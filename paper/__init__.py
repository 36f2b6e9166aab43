"""The report, built from results by one command (``make paper``: ``paper/build.py``).

The figure scripts (``paper/figures*.py``) read each result folder's figure data and write its
``results/<name>/figures/*.png``; ``build.py`` copies them beside ``paper/main.typ`` and its
``sections/*.typ`` and compiles the PDF with Typst.
"""
