"""Encryption schemes: Chebyshev numerics at the study's key sizes, round trips, what each scheme
leaves of the plaintext, AES output uniformity."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.stats import chisquare

from artifactual.replication.encryption import (AESCTR, SCHEMES, ChebyshevChaos, PixelPermutation, chebyshev,
                                                chebyshev_recurrence, cos_turns, encrypt_stack, turns)

STUDY_KEYS = (10**8, 10**9)  # s and every r drawn in [1e8, 1e9), as encrypt_stack draws them


def smooth_images(n: int, seed: int, side: int = 64) -> np.ndarray:
    """(n, side, side) uint8 blobs spanning 0..255, with pixels 0, 255 and 100 at the top left."""
    z = gaussian_filter(np.random.default_rng(seed).normal(size=(n, side, side)), sigma=(0, 6, 6))
    lo, hi = z.min(axis=(1, 2), keepdims=True), z.max(axis=(1, 2), keepdims=True)
    m = np.rint((z - lo) / (hi - lo) * 255).astype(np.uint8)
    m[:, 0, :3] = [0, 255, 100]
    return m


def test_chebyshev_closed_form_matches_recurrence_and_stays_bounded():
    for x in (-0.9, -0.2, 0.35, 0.999):
        for p in range(0, 25):
            assert chebyshev(p, x) == pytest.approx(chebyshev_recurrence(p, x), abs=1e-9)
    big = chebyshev(987_654_321, 0.3)
    assert -1 <= big <= 1
    assert chebyshev(0, -0.5) == 1.0 and chebyshev(5, 1.0) == 1.0 and chebyshev(5, -1.0) == -1.0


def test_chebyshev_is_within_about_one_ulp_at_large_degrees():
    rng = np.random.default_rng(0)
    ulps = []
    for _ in range(300):
        y, p = float(rng.uniform(-1, 1)), int(rng.integers(0, 10**9))
        with mpmath.workprec(300):
            exact = mpmath.cos(p * mpmath.acos(mpmath.mpf(y)))
        ulps.append(float(abs(mpmath.mpf(float(chebyshev(p, y))) - exact)) / np.spacing(abs(float(exact))))
    assert max(ulps) < 1.5  # 1.16 over 5,000 draws (module docstring)
    # a degree per pixel with one argument is one broadcast call and agrees with the scalar calls
    ps = rng.integers(*STUDY_KEYS, 50)
    assert np.array_equal(chebyshev(ps, 0.3), [float(chebyshev(int(p), 0.3)) for p in ps])


def test_semigroup_holds_to_float_rounding_and_exactly_in_turns():
    rng = np.random.default_rng(1)
    gaps = []
    for _ in range(50):
        x = float(rng.uniform(-1, 1))
        s, r = (int(v) for v in rng.integers(*STUDY_KEYS, 2))
        gaps.append(abs(float(chebyshev(r, chebyshev(s, x)) - chebyshev(s, chebyshev(r, x)))))
        # carried as exact turns, T_r(T_s(x)) and T_s(T_r(x)) are the same integer
        assert (r * ((s * turns(x)) % 2**128)) % 2**128 == (s * ((r * turns(x)) % 2**128)) % 2**128
    # through float64 values, about (r + s) * 1e-16 / sin(theta): the old float-phase code was off by ~1
    assert np.median(gaps) < 1e-7 and max(gaps) < 1e-4


@pytest.mark.parametrize("reading", ["literal", "one_key", "per_image"])
def test_round_trip_is_exact_at_study_keys(reading):
    images = smooth_images(50, seed=2)
    rng = np.random.default_rng(3)
    chaos = ChebyshevChaos.generate(4)
    assert STUDY_KEYS[0] <= chaos.s < STUDY_KEYS[1]
    one_key = rng.integers(*STUDY_KEYS, images.shape[1:])
    worst, smallest_k = 0.0, 1.0
    for m in images:
        r = {"literal": int(rng.integers(*STUDY_KEYS)), "one_key": one_key,
             "per_image": rng.integers(*STUDY_KEYS, m.shape)}[reading]
        t_r, X = chaos.encrypt(m, r)
        back = chaos.decrypt(t_r, X)
        assert np.array_equal(np.rint(back).astype(np.uint8), m)
        worst = max(worst, float(np.abs(back - m).max()))
        k = cos_turns(np.asarray(r, dtype=object) * chaos.public_key()[1])
        smallest_k = min(smallest_k, float(np.abs(k).min()))
    # 2.8e-14 for each reading: one float multiplication and one division, whatever |k|
    assert worst < 1e-12
    # smallest |k|: 1.4e-6 over these 204,800 per-image keystream values, 5.5e-4 over the one key's
    # 4,096, 0.086 over the literal reading's 50 scalars: small values occur and are harmless in turns
    assert smallest_k > 0


def test_float64_public_values_decrypt_within_the_stated_bound():
    """The paper's public part as float64 numbers: decryption is close, not exact (module docstring)."""
    chaos = ChebyshevChaos.generate(5)
    m = smooth_images(1, seed=6)[0]
    r = np.random.default_rng(7).integers(*STUDY_KEYS, m.shape)
    t_r, X = chaos.encrypt(m, r)
    y = cos_turns(t_r)  # T_r(x) rounded to float64
    back = chaos.decrypt(y, X)  # one mpmath arccos per pixel
    k = cos_turns(np.asarray(r, dtype=object) * chaos.public_key()[1])
    # rounding y moves T_s(y) by up to s * 2^-53 / sin(arccos y); dividing by k scales that by M / |k|
    bound = m * (chaos.s * 2.0**-53 / np.sqrt(1 - y**2) + 1e-15) / np.abs(k)
    err = np.abs(back - m)
    assert (err <= bound).all()  # at most 0.85 of the bound over 10 such images
    assert np.median(err) < 1e-5 and err.max() > 1e-3  # usually tiny, but not exact
    assert np.abs(chaos.decrypt(t_r, X) - m).max() < 1e-12  # the exact turns are


def test_literal_chaos_is_a_per_image_scalar():
    m = np.random.default_rng(0).integers(0, 256, (8, 8)).astype(np.uint8)
    chaos = ChebyshevChaos(s=123_456_789, x=0.37)
    t_r, X = chaos.encrypt(m, r=987_654_321)
    c = X.ravel()[np.flatnonzero(m.ravel())[0]] / m.ravel()[np.flatnonzero(m.ravel())[0]]
    assert np.allclose(X, m * c)  # the whole "cipher" is one scalar multiplication
    assert c == pytest.approx(float(chebyshev(987_654_321, chebyshev(123_456_789, 0.37))), abs=1e-6)
    z = (X - X.min()) / (X.max() - X.min())  # min-max rescaled: the image itself, or its negative
    assert abs(np.corrcoef(z.ravel(), m.ravel())[0, 1]) == pytest.approx(1.0)
    # encrypt_stack's broadcast literal scheme is the per-image loop
    imgs = smooth_images(4, seed=8, side=8)
    rs = np.random.default_rng(1).integers(*STUDY_KEYS, 4)
    loop = np.stack([ChebyshevChaos.generate(0).encrypt(im, int(r))[1] for im, r in zip(imgs, rs)])
    assert np.array_equal(encrypt_stack(imgs, "chaos_literal", seed=0), loop)


def _within_image_corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.array([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(A, B)])


def _per_pixel_corr_across_images(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    a, b = A.reshape(len(A), -1), B.reshape(len(B), -1).astype(np.float64)
    keep = b.std(0) > 0  # the three fixed test pixels do not vary
    a, b = a[:, keep] - a[:, keep].mean(0), b[:, keep] - b[:, keep].mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def test_keystream_images_are_not_scaled_copies_but_leak_brightness():
    M = smooth_images(40, seed=9)
    X_lit = encrypt_stack(M, "chaos_literal")
    X_one = encrypt_stack(M, "chaos_keystream_one_key")
    X_fresh = encrypt_stack(M, "chaos_keystream_per_image")
    # literal: every image is ±(a scaled copy)
    assert np.allclose(np.abs(_within_image_corr(X_lit, M)), 1.0)
    for X in (X_one, X_fresh):
        assert np.abs(_within_image_corr(X, M)).max() < 0.1  # measured 0.03 and 0.04: X is no scaled copy
        within_abs = _within_image_corr(np.abs(X), M)  # but |X| = M |k| is still a noisy face
        assert 0.3 < within_abs.min() and within_abs.max() < 0.8  # measured 0.40..0.68
        ratio = np.abs(X).reshape(40, -1).mean(1) / M.reshape(40, -1).mean(1)
        assert ratio == pytest.approx(2 / np.pi, abs=0.03)  # mean |X| = E|cos| * mean M: brightness leaks
    # one key: every pixel is the plaintext pixel times a fixed K_p, so a per-pixel standardised
    # linear model sees the plaintext up to sign; fresh keys: no per-pixel relation left
    assert np.allclose(np.abs(_per_pixel_corr_across_images(X_one, M)), 1.0)
    fresh = np.abs(_per_pixel_corr_across_images(X_fresh, M))
    assert fresh.mean() < 0.16  # 0.135; |r| of 40 independent pairs averages sqrt(2/pi/39) = 0.128


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match=r"\[-1, 1\].*1\.5"):
        chebyshev(3, 1.5)
    with pytest.raises(TypeError, match="integers"):
        chebyshev(2.5, 0.3)
    with pytest.raises(ValueError, match="-4"):
        chebyshev(np.array([3, -4]), 0.3)
    with pytest.raises(KeyError, match="unknown scheme 'rot13'"):
        encrypt_stack(np.zeros((1, 2, 2), np.uint8), "rot13")


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


def test_encrypt_stack_shapes_dtypes_and_keys():
    imgs = np.random.default_rng(2).integers(0, 256, (5, 8, 8)).astype(np.uint8)
    for scheme in SCHEMES:
        out = encrypt_stack(imgs, scheme)
        assert out.shape == imgs.shape
        assert out.dtype == (np.float64 if scheme.startswith("chaos") else np.uint8)
    plain = imgs.astype(np.int64) + 1  # strictly positive pixels
    undone = encrypt_stack(plain, "chaos_literal_sign_undone")
    ratio = undone / plain
    assert (ratio > 0).all() and np.allclose(ratio, ratio[:, :1, :1])  # a positive scale per image, no key
    one = encrypt_stack(plain, "chaos_keystream_one_key") / plain
    assert np.allclose(one, one[:1])  # one keystream for every image
    fresh = encrypt_stack(plain, "chaos_keystream_per_image") / plain
    assert not np.allclose(fresh, fresh[:1])
    assert np.array_equal(encrypt_stack(plain, "chaos_keystream_per_image", seed=3),
                          encrypt_stack(plain, "chaos_keystream_per_image", seed=3))  # seeds fix the keys
