"""Encryption schemes: round trips, the literal scheme's scale equivalence, AES output uniformity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from artifactual.replication.encryption import (AESCTR, LiteralChaos, PixelPermutation, chebyshev,
                                                chebyshev_recurrence, encrypt_stack)


def test_chebyshev_closed_form_matches_recurrence_and_stays_bounded():
    for x in (-0.9, -0.2, 0.35, 0.999):
        for p in range(0, 25):
            assert chebyshev(p, x) == pytest.approx(chebyshev_recurrence(p, x), abs=1e-9)
    big = chebyshev(987_654_321, 0.3)
    assert -1 <= big <= 1
    # semigroup property the scheme relies on: T_r(T_s(x)) = T_s(T_r(x))
    assert chebyshev(12345, chebyshev(678, 0.4)) == pytest.approx(chebyshev(678, chebyshev(12345, 0.4)), abs=1e-6)


def test_literal_chaos_is_a_per_image_scalar_and_round_trips():
    rng = np.random.default_rng(0)
    m = rng.integers(0, 256, (8, 8)).astype(np.uint8)
    chaos = LiteralChaos(s=1234, x=0.37)
    t_r, X = chaos.encrypt(m, r=5678)
    c = X.ravel()[np.flatnonzero(m.ravel())[0]] / m.ravel()[np.flatnonzero(m.ravel())[0]]
    assert np.allclose(X, m * c)  # the whole "cipher" is one scalar multiplication
    assert np.allclose(chaos.decrypt(t_r, X), m)
    z = (X - X.min()) / (X.max() - X.min())  # min-max rescaled: the image itself, or its negative
    corr = np.corrcoef(z.ravel(), m.ravel())[0, 1]
    assert abs(corr) == pytest.approx(1.0)


def test_permutation_and_aes_round_trip():
    rng = np.random.default_rng(1)
    m = rng.integers(0, 256, (16, 16)).astype(np.uint8)
    perm = PixelPermutation(seed=3)
    assert np.array_equal(perm.decrypt(perm.encrypt(m)), m)
    assert np.array_equal(np.sort(perm.encrypt(m).ravel()), np.sort(m.ravel()))  # same histogram
    aes = AESCTR.generate(4)
    assert np.array_equal(aes.decrypt(aes.encrypt(m, 7), 7), m)
    assert not np.array_equal(aes.encrypt(m, 7), aes.encrypt(m, 8))  # nonce per image


def test_aes_output_bytes_are_uniform():
    flat = np.full((200, 32, 32), 128, np.uint8)  # a constant image: the worst case for a weak cipher
    enc = encrypt_stack(flat, "aes_ctr", seed=5)
    counts = np.bincount(enc.ravel(), minlength=256)
    assert chisquare(counts).pvalue > 0.001
    assert chisquare(np.bincount(flat.ravel(), minlength=256) + 1).pvalue < 1e-10  # the test can fail


def test_encrypt_stack_shapes():
    imgs = np.random.default_rng(2).integers(0, 256, (5, 8, 8)).astype(np.uint8)
    for scheme in ("plaintext", "chaos_literal", "chaos_literal_sign_undone", "pixel_permutation", "aes_ctr"):
        assert encrypt_stack(imgs, scheme).shape == imgs.shape
    plain = imgs.astype(np.int64) + 1  # strictly positive pixels
    undone = encrypt_stack(plain, "chaos_literal_sign_undone")
    ratio = undone / plain
    assert (ratio > 0).all() and np.allclose(ratio, ratio[:, :1, :1])  # a positive scale per image, no key
    with pytest.raises(KeyError, match="unknown scheme"):
        encrypt_stack(imgs, "rot13")
