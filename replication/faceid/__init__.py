"""Seed 001 (Shanmugapriyan et al.), rebuilt on public faces: watch-list face identification.

The watch-list here is a constructed watch-list of public faces (LFW and the other datasets under
study); nobody in it is a criminal. Galleries are built only from the dataset under study: no function
here identifies a person in a user-supplied photograph against any list.

- :mod:`~artifactual.replication.faceid.lbp`: the paper's pipeline (greyscale, median filter, optional
  Otsu binarisation, Haar face detection standing in for YOLOv8/RPN, LBP histograms, chi-square).
- :mod:`~artifactual.replication.faceid.dlib_embed`: dlib's 128-d face ResNet, the deep template.
- :mod:`~artifactual.replication.faceid.gallery`: the watch-list database (SQLite) and exact top-k search.
- :mod:`~artifactual.replication.faceid.degrade`: the probe degradations the paper claims to handle.

>>> from artifactual.replication.faceid.gallery import NOTE
>>> NOTE
'constructed watch-list of public faces; nobody here is a criminal'
"""
