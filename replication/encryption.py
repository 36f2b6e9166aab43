"""Image "encryption" schemes for the seed-000 claim that a classifier works on encrypted faces.

Seed 000 §4.2 ("chaos-based encryption", after Chebyshev-map public-key cryptography): with the
Chebyshev map T_{p+1}(x) = 2x T_p(x) - T_{p-1}(x), a private key s (a large integer), a public
value x in [-1, 1] and, per image, a large integer r, the paper computes T_r(x),
T_{r,s} = T_r(T_s(x)) and X = M . T_{r,s}(x), and calls C = (T_r(x), X) the encrypted image.
Decryption: M = X / T_s(T_r(x)), since T_s(T_r(x)) = T_r(T_s(x)) = T_{rs}(x).

**The literal reading** (``chaos_literal``): X is the pixel array M multiplied by ONE scalar
c = T_r(T_s(x)) in [-1, 1]: every image keeps its content, up to scale and, when c < 0, a sign
flip (a photographic negative). Min-max rescaling shows the face to any human eye. The classifier
sees X. Because c < 0 for about half the images, ``chaos_literal_sign_undone`` multiplies X by the
sign of its mean (a real image's mean is positive), which needs no key and leaves only the scale.

**A charitable reading** (our construction, not the paper's). §4.2 also says the encrypted images
are "indistinguishable and unidentifiable for human eyes", which no scalar can produce. The nearest
scheme that could: keep the paper's multiplication X = M . T and its public-key structure, and give
pixel p its own degree r_p (the literal per-image r, one per pixel). Keystream k_p = T_{r_p}(T_s(x)),
X_p = M_p k_p, public part T_{r_p}(x), decryption M_p = X_p / T_s(T_{r_p}(x)). The usual chaotic
image ciphers (a chaotic orbit XOR-ed into the bytes, with pixel shuffling) would be a different
scheme, and their ideal is the AES baseline below; this one changes §4.2 in one place only.

- ``chaos_keystream_one_key``: the same r_p for every image, so one keystream K and X = M ⊙ K.
- ``chaos_keystream_per_image``: fresh r_p for every image (s and x fixed), a fresh keystream.

What each should leave (expectations; the study measures what models make of them):

- literal: one scalar per image. Min-max rescaling each image (what a viewer, or a model that
  normalises per image, does) gives the rescaled plaintext or its negative; with the sign undone,
  the rescaled plaintext. A model that does not normalise sees a random contrast per image.
- one key: a fixed per-pixel rescaling. Standardising each pixel over the training images divides
  out |K_p|, so a per-pixel linear model sees the plaintext up to the sign of each K_p, which its
  weights absorb: expect plaintext accuracy. Models that mix neighbouring pixels before their first
  weights (the study's 8x8 thumbnails, convolutions) mix differently-keyed pixels and should lose
  more. |X| = M ⊙ |K| is the face seen through fixed multiplicative noise.
- fresh key per image: X_p has a random sign, so a linear model on X should be near chance, but
  |X_p| = M_p |k_p| <= M_p still leaks each pixel's brightness (mean |X| is (2/π) mean M) and |X|
  is a noisy face: a model that can form |X| or X² can use both.

Measured on 40 smooth 64x64 test images (``tests/replication/test_encryption.py``): within an image, corr(X, M)
is near 0 for both keystreams (|r| <= 0.034 one key, 0.044 fresh keys), so neither is a scaled copy,
but corr(|X|, M) is 0.40 to 0.68; mean |X| / mean M is 0.638 ± 0.005 (2/π = 0.637). Over the 40
images, each pixel's X correlates with its M at |r| = 1 under one key and at mean |r| 0.135 under
fresh keys (0.128 expected for no relation).

**Numerics.** The recurrence loses all precision after a few dozen steps for |x| < 1 and cannot
reach the degrees the scheme needs (s, r drawn in [1e8, 1e9)); T_p(y) = cos(p arccos y) is the same
polynomial on [-1, 1]. The previous code evaluated p arccos(y) in float64, an absolute phase error
of ~p·1e-16: T_s(x) was off by ~1e-7 and T_r of it was an unrelated number. At the study's key
sizes a decrypted pixel of 100 came back as 30.4, and over 200 keys every image decrypted wrong
(median error 390 grey levels, max 53,176). Here the phase arccos(y)/2π is computed once in high
precision (mpmath) and held as an integer t over 2^128 ("turns", ``turns``); T_p multiplies it by p
in exact integer arithmetic, and only the final cos(2π t / 2^128) is a float operation
(``cos_turns``). T_p(y) is within 1.16 ulp of the correctly rounded value for the float64 input y,
and is that value for 85% of inputs (5,000 random (p, y), p < 1e9, against 300-bit mpmath); a
correctly rounded result would need an mpmath cos per pixel (87 ms per 64x64 keystream against
1.7 ms), for nothing the study can see.

Deviation (representation only): the schemes carry the public values T_s(x) and T_r(x) as these
exact turns, the paper's real numbers to 128 bits, not as float64. Then the sender's T_r(T_s(x)) and
the receiver's T_s(T_r(x)) are the same integer, rs·t(x) mod 2^128, and decryption is exact up to
one float multiplication and division: max |M - decrypt| = 2.8e-14 (one ulp of 255) over 50 64x64
images for each of the three readings at the study's key sizes, every pixel equal after rounding to
uint8, with keystream values |k_p| down to 1.4e-6. A zero keystream value (probability 2^-126) is
refused at encryption; the smallest nonzero one is 2π/2^128, still exact.

Published as float64 values instead (``decrypt`` accepts those too), T_s(T_r(x)) misses
T_r(T_s(x)) by up to s·2^-53 / sin(arccos T_r(x)) (the rounding of T_r(x) times T_s's slope): a
median ~1e-8 but up to 2e-4 where T_r(x) is near ±1, over 20 images x 4,096 per-pixel keys. A pixel
then decrypts to within M_p times that over |k_p| (the test checks the bound): over those 20 images
the error reached 1.7 grey levels and 1 pixel in 81,920 rounded wrongly (a single event; of order
30 in a 600-image dataset); for the literal scheme (200 keys, pixels 0, 100, 255) at most 6e-3,
median 6e-6. Whatever the representation, the Chebyshev public key is weak: x and T_s(x) give away
a working s (Bergamo, D'Arco, De Santis and Kocarev, IEEE Trans. Circuits Syst. I 52(7), 2005);
the study asks only what classifiers see.

Speed (2-core development machine, 600 64x64 images): literal 0.03 ms an image; one key 0.02 ms (its
one keystream is computed once); fresh key per image 3.2 ms (1.9 s for 600). Decryption 3 ms an
image from exact turns, 0.15 s from float64 public values (one mpmath arccos per pixel).

For comparison: a keyed pixel permutation (hides the arrangement, keeps every pixel value and so
every histogram statistic) and a real cipher, AES-256 in counter mode over the pixel bytes
(``cryptography`` package), which leaves nothing a model can use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import numpy as np

TURN_BITS = 128  # phases are integers over 2^128; times rs < 2^60 their error stays below 2^-68 turns
_ONE_TURN = 1 << TURN_BITS
_SCALE_BITS = 160  # 2π in fixed point to 160 bits, so the final float angle is correctly rounded
with mpmath.workprec(_SCALE_BITS + 32):
    _TWO_PI_FIXED = int(mpmath.nint(2 * mpmath.pi * mpmath.mpf(2) ** _SCALE_BITS))


@functools.lru_cache(maxsize=4096)
def _turn(y: float, bits: int) -> int:
    with mpmath.workprec(bits + 32):
        return int(mpmath.nint(mpmath.acos(mpmath.mpf(y)) / (2 * mpmath.pi) * mpmath.mpf(2) ** bits))


def turns(y: float | np.ndarray, bits: int = TURN_BITS) -> int | np.ndarray:
    """The phase arccos(y) / 2π of float64 y in [-1, 1], as the nearest integer over 2**bits.

    One high-precision (mpmath) arccos per value, so y = cos(2π turns(y) / 2**bits) to within
    2**-bits turns. Arrays come back as object arrays of Python ints (exact integer arithmetic).

    >>> turns(0.0) == 2 ** 126  # arccos 0 = π/2, a quarter turn
    True
    >>> turns(np.array([1.0, -1.0])).tolist() == [0, 2 ** 127]
    True
    """
    y = np.asarray(y, dtype=np.float64)
    bad = ~(np.abs(y) <= 1.0)  # also catches NaN
    if bad.any():
        raise ValueError(f"Chebyshev arguments must lie in [-1, 1]; got {y[bad].ravel()[:5].tolist()}")
    if y.ndim == 0:
        return _turn(float(y), bits)
    return np.frompyfunc(lambda v: _turn(float(v), bits), 1, 1)(y)


def cos_turns(t: int | np.ndarray) -> np.ndarray:
    """cos(2π t / 2**TURN_BITS) in float64 for an integer phase t (Python int or object array).

    The phase is reduced to the nearest quarter turn in integers, so the float cos or sin only sees
    an angle in [-π/4, π/4], itself correctly rounded.

    >>> cos_turns(np.array([0, 2 ** 126, 2 ** 127, 3 * 2 ** 126], dtype=object)).tolist()
    [1.0, -0.0, -1.0, 0.0]
    >>> float(cos_turns(2 ** 128 // 6))  # a sixth of a turn
    0.5
    """
    t = np.asarray(t, dtype=object) % _ONE_TURN
    q = (t * 4 + _ONE_TURN // 2) >> TURN_BITS  # nearest quarter turn, 0..4
    g = t - q * (_ONE_TURN // 4)  # |g| <= 1/8 turn
    # the angle 2π g / 2^128, computed as an integer and rounded once (Python's int -> float is exact-rounding)
    a = np.asarray(g * _TWO_PI_FIXED, dtype=object).astype(np.float64) * 2.0 ** -(TURN_BITS + _SCALE_BITS)
    q = np.asarray(q % 4, dtype=object).astype(np.int64)
    c, s = np.cos(a), np.sin(a)
    return np.choose(q, [c, -s, -c, s])  # cos(qπ/2 + a)


def _degrees(p: int | np.ndarray) -> np.ndarray:
    """Integer degrees as an object array of Python ints (exact products with 128-bit phases)."""
    arr = np.asarray(p)
    if arr.dtype.kind not in "iuO" or (arr.dtype.kind == "O" and not all(isinstance(v, int) for v in arr.flat)):
        raise TypeError(f"Chebyshev degrees must be integers; got dtype {arr.dtype} ({arr.ravel()[:3].tolist()}...)")
    arr = arr.astype(object)
    if (arr < 0).any():
        raise ValueError(f"Chebyshev degrees must be >= 0; got {arr[arr < 0].ravel()[:5].tolist()}")
    return arr


def chebyshev(p: int | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """T_p(y) = cos(p arccos y) for integer degree(s) p >= 0 and float64 y in [-1, 1].

    p arccos(y) is reduced modulo one turn in exact integer arithmetic (``turns``), so any degree
    works; the result is within 1.2 ulp of T_p(y) correctly rounded (module docstring). p and y
    broadcast: one y with a degree per pixel costs one mpmath call, an array of y one per value.

    Parameters
    ----------
    p : int or integer array
        Degree(s); arbitrarily large.
    y : float or float array
        Arguments in [-1, 1]; anything else is a ValueError.

    Returns
    -------
    np.ndarray
        float64, the broadcast shape of p and y.

    >>> round(float(chebyshev(2, 0.3)), 12)  # 2 * 0.3 ** 2 - 1
    -0.82
    >>> r, s = 987_654_321, 123_456_789  # the study's key sizes
    >>> gap = chebyshev(r, chebyshev(s, 0.3)) - chebyshev(s, chebyshev(r, 0.3))
    >>> bool(abs(gap) < 1e-6)  # T_r(T_s(x)) = T_s(T_r(x)), up to the float64 rounding of the inner value
    True
    """
    p = _degrees(p)
    top = max((int(v).bit_length() for v in p.flat), default=0)
    bits = max(TURN_BITS, top + 80)  # the phase keeps 80 bits after multiplying by p
    t = (p * turns(y, bits)) % (1 << bits)
    return cos_turns(t >> (bits - TURN_BITS))


def chebyshev_recurrence(p: int, x: float) -> float:
    """T_p(x) by the paper's recurrence (eq. 7); for small p only (tests).

    >>> chebyshev_recurrence(3, 0.5)  # 4x^3 - 3x
    -1.0
    """
    t0, t1 = 1.0, x
    if p == 0:
        return t0
    for _ in range(p - 1):
        t0, t1 = t1, 2 * x * t1 - t0
    return t1


@dataclass(frozen=True)
class ChebyshevChaos:
    """Seed 000 §4.2's keys: private ``s``, public ``x`` and T_s(x); the degree r picks the reading.

    ``encrypt(image, r)`` with one integer r is the paper's scheme (one scalar per image); with an
    integer array of the image's shape it is our per-pixel keystream (module docstring).

    >>> chaos = ChebyshevChaos(s=123_456_789, x=0.37)
    >>> m = np.array([[0, 100, 255]], np.uint8)
    >>> t_r, X = chaos.encrypt(m, np.array([[987_654_321, 555_555_555, 100_000_007]]))
    >>> np.rint(chaos.decrypt(t_r, X)).astype(np.uint8).tolist()
    [[0, 100, 255]]
    """

    s: int
    x: float

    @classmethod
    def generate(cls, seed: int) -> "ChebyshevChaos":
        """Keys as the study draws them: s in [1e8, 1e9), x uniform in [-1, 1]."""
        rng = np.random.default_rng(seed)
        return cls(s=int(rng.integers(10**8, 10**9)), x=float(rng.uniform(-1, 1)))

    def public_key(self) -> tuple[float, int]:
        """(x, T_s(x)), T_s(x) as its exact turns (``cos_turns`` gives the float)."""
        return self.x, (self.s * turns(self.x)) % _ONE_TURN

    def encrypt(self, image: np.ndarray, r: int | np.ndarray) -> tuple[int | np.ndarray, np.ndarray]:
        """C = (T_r(x), X = M * T_r(T_s(x))), T_r(x) as exact turns; r one integer or one per pixel.

        Uses only ``public_key()``'s values, as a sender who does not know s would. Raises ValueError in the
        2^-126-probability case that a keystream value is exactly 0 (X would lose the pixel).
        """
        r = _degrees(r)
        x, t_s = self.public_key()
        k = cos_turns(r * t_s)
        if (k == 0).any():
            raise ValueError(f"degree(s) {r[k == 0].tolist()} give T_r(T_s(x)) = 0; draw others")
        return (r * turns(x)) % _ONE_TURN, np.asarray(image, np.float64) * k

    def decrypt(self, t_r: int | float | np.ndarray, X: np.ndarray) -> np.ndarray:
        """M = X / T_s(T_r(x)) with the private key.

        ``t_r`` is the public part from ``encrypt`` (exact turns: decryption exact up to the float
        division), or T_r(x) as float64 values as the paper would publish them: then T_s costs one
        mpmath arccos per value and the error is up to M s 2^-53 / (|k| sin(arccos T_r(x))), a
        median ~3e-6 grey levels, more where k is near 0 (module docstring).
        """
        t_r = np.asarray(t_r)
        if t_r.dtype.kind == "f":
            return X / chebyshev(self.s, t_r)
        return X / cos_turns(_degrees(t_r) * self.s)


@dataclass(frozen=True)
class PixelPermutation:
    """One secret permutation of pixel positions, the same for every image.

    >>> perm = PixelPermutation(seed=0)
    >>> m = np.arange(6).reshape(2, 3)
    >>> np.array_equal(perm.decrypt(perm.encrypt(m)), m)
    True
    """

    seed: int

    def _perm(self, n: int) -> np.ndarray:
        return np.random.default_rng(self.seed).permutation(n)

    def encrypt(self, image: np.ndarray) -> np.ndarray:
        flat = np.asarray(image).reshape(-1)
        return flat[self._perm(flat.size)].reshape(np.shape(image))

    def decrypt(self, image: np.ndarray) -> np.ndarray:
        flat = np.asarray(image).reshape(-1)
        out = np.empty_like(flat)
        out[self._perm(flat.size)] = flat
        return out.reshape(np.shape(image))


@dataclass(frozen=True)
class AESCTR:
    """AES-256-CTR over the pixel bytes; each image gets its own nonce (from its index)."""

    key: bytes

    @classmethod
    def generate(cls, seed: int) -> "AESCTR":
        return cls(key=np.random.default_rng(seed).bytes(32))

    def _cipher(self, index: int):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        # CTR's 128-bit counter block: the image index in the upper 64 bits, the block counter in the
        # lower 64. Using the index as the whole block would make image i+1's keystream image i's
        # shifted by one block: keystream reuse (the uniformity test caught exactly that).
        nonce = int(index).to_bytes(8, "big") + bytes(8)
        return Cipher(algorithms.AES(self.key), modes.CTR(nonce))

    def encrypt(self, image: np.ndarray, index: int) -> np.ndarray:
        data = np.ascontiguousarray(image, dtype=np.uint8)
        enc = self._cipher(index).encryptor()
        out = enc.update(data.tobytes()) + enc.finalize()
        return np.frombuffer(out, np.uint8).reshape(data.shape)

    def decrypt(self, image: np.ndarray, index: int) -> np.ndarray:
        return self.encrypt(image, index)  # CTR mode: the same keystream XOR decrypts


SCHEMES = ("plaintext", "chaos_literal", "chaos_literal_sign_undone", "chaos_keystream_one_key",
           "chaos_keystream_per_image", "pixel_permutation", "aes_ctr")


def encrypt_stack(images: np.ndarray, scheme: str, seed: int = 0) -> np.ndarray:
    """Encrypt a stack of uint8 images (n, H, W) with one scheme.

    Parameters
    ----------
    images : np.ndarray
        (n, H, W) pixels on the 0-255 scale.
    scheme : str
        One of ``SCHEMES``.
    seed : int
        Derives every key: the chaos keys (s, x) from ``seed``, the literal per-image degrees from
        ``seed + 1``, the keystream degrees from ``seed + 2``.

    Returns
    -------
    np.ndarray
        The encrypted stack, same shape: float64 for the chaos schemes, uint8 otherwise.

    >>> imgs = np.full((2, 2, 2), 100, np.uint8)
    >>> [encrypt_stack(imgs, s).dtype.name for s in ("chaos_keystream_per_image", "aes_ctr")]
    ['float64', 'uint8']
    """
    images = np.asarray(images)
    if scheme == "plaintext":
        return images
    if scheme == "chaos_literal":
        chaos = ChebyshevChaos.generate(seed)
        rs = np.random.default_rng(seed + 1).integers(10**8, 10**9, len(images))
        return chaos.encrypt(images, rs.reshape((-1,) + (1,) * (images.ndim - 1)))[1]
    if scheme == "chaos_literal_sign_undone":
        # no key needed: pixel means of a real image are positive, so sign(mean(X)) is the sign of
        # the scheme's scalar; what remains is a per-image scale
        X = encrypt_stack(images, "chaos_literal", seed)
        return X * np.sign(X.reshape(len(X), -1).mean(1)).reshape((-1,) + (1,) * (X.ndim - 1))
    if scheme == "chaos_keystream_one_key":  # our per-pixel reading, the same r_p (so keystream) for all images
        chaos = ChebyshevChaos.generate(seed)
        rp = np.random.default_rng(seed + 2).integers(10**8, 10**9, images.shape[1:])
        return chaos.encrypt(images, rp)[1]
    if scheme == "chaos_keystream_per_image":  # our per-pixel reading, fresh r_p for every image
        chaos = ChebyshevChaos.generate(seed)
        rp = np.random.default_rng(seed + 2).integers(10**8, 10**9, images.shape)
        # image by image: the exact phases are Python ints, ~100 bytes a pixel while they live
        out = np.empty(images.shape, np.float64)
        for i, (m, r) in enumerate(zip(images, rp)):
            out[i] = chaos.encrypt(m, r)[1]
        return out
    if scheme == "pixel_permutation":
        perm = PixelPermutation(seed)
        return np.stack([perm.encrypt(m) for m in images])
    if scheme == "aes_ctr":
        aes = AESCTR.generate(seed)
        return np.stack([aes.encrypt(m, i) for i, m in enumerate(images)])
    raise KeyError(f"unknown scheme {scheme!r}; choose one of {SCHEMES}")
