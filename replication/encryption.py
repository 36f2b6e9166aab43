"""Image "encryption" schemes for the seed-000 claim that a classifier works on encrypted faces.

Seed 000 §4.2 ("chaos-based encryption", after Chebyshev-map public-key cryptography): with the
Chebyshev map T_{p+1}(x) = 2x T_p(x) - T_{p-1}(x), a private key s (a large integer), a public
value x in [-1, 1] and, per image, a large integer r, the paper computes T_r(x),
T_{r,s} = T_r(T_s(x)) and X = M . T_{r,s}(x), and calls C = (T_r(x), X) the encrypted image.

Implemented literally, X is the pixel array M multiplied by ONE scalar c = T_r(T_s(x)) in
[-1, 1]: every image keeps its content, up to scale and, when c < 0, a sign flip (a photographic
negative). Min-max rescaling shows the face to any human eye. The classifier sees X.

Numerics: the recurrence loses all precision after a few dozen steps for |x| < 1 and cannot
reach the "large" degrees the scheme needs; T_p(x) = cos(p arccos x) is exact for |x| <= 1 and
costs nothing, so we use it (the recurrence is kept for the test that shows the two agree).

Because T lies in [-1, 1], about half the images also change sign; ``chaos_literal_sign_undone``
multiplies X by the sign of its mean (a real image's mean is positive), which needs no key and
leaves only the scale.

For comparison: a keyed pixel permutation (hides the arrangement, keeps every pixel value and so
every histogram statistic) and a real cipher, AES-256 in counter mode over the pixel bytes
(``cryptography`` package), which leaves nothing a model can use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def chebyshev(p: int | float | np.ndarray, x: float | np.ndarray) -> np.ndarray:
    """T_p(x) = cos(p * arccos x), exact for x in [-1, 1] (stable for any degree p).

    >>> round(float(chebyshev(2, 0.3)), 6) == round(2 * 0.3 ** 2 - 1, 6)
    True
    """
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    # p can be a large integer: reduce p*theta modulo 2*pi in exact integer arithmetic first
    theta = np.arccos(x)
    return np.cos(np.mod(np.asarray(p, dtype=np.float64) * theta, 2 * np.pi))


def chebyshev_recurrence(p: int, x: float) -> float:
    """T_p(x) by the paper's recurrence (eq. 7); for small p only (tests)."""
    t0, t1 = 1.0, x
    if p == 0:
        return t0
    for _ in range(p - 1):
        t0, t1 = t1, 2 * x * t1 - t0
    return t1


@dataclass(frozen=True)
class LiteralChaos:
    """Seed 000 §4.2 as written. ``s`` private, ``x`` public; a fresh ``r`` for every image."""

    s: int
    x: float

    @classmethod
    def generate(cls, seed: int) -> "LiteralChaos":
        rng = np.random.default_rng(seed)
        return cls(s=int(rng.integers(10**8, 10**9)), x=float(rng.uniform(-1, 1)))

    def public_key(self) -> tuple[float, float]:
        return self.x, float(chebyshev(self.s, self.x))

    def encrypt(self, image: np.ndarray, r: int) -> tuple[float, np.ndarray]:
        """C = (T_r(x), X = M * T_r(T_s(x)))."""
        t_r = float(chebyshev(r, self.x))
        t_rs = float(chebyshev(r, chebyshev(self.s, self.x)))
        return t_r, np.asarray(image, np.float64) * t_rs

    def decrypt(self, t_r: float, X: np.ndarray) -> np.ndarray:
        """M = X / T_s(T_r(x)) with the private key (T_s(T_r(x)) = T_r(T_s(x)) = T_{rs}(x))."""
        return X / float(chebyshev(self.s, t_r))


@dataclass(frozen=True)
class PixelPermutation:
    """One secret permutation of pixel positions, the same for every image."""

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


SCHEMES = ("plaintext", "chaos_literal", "chaos_literal_sign_undone", "pixel_permutation", "aes_ctr")


def encrypt_stack(images: np.ndarray, scheme: str, seed: int = 0) -> np.ndarray:
    """Encrypt a stack of uint8 images (n, H, W) with one scheme; float64 for chaos, uint8 otherwise."""
    if scheme == "plaintext":
        return np.asarray(images)
    if scheme == "chaos_literal":
        chaos = LiteralChaos.generate(seed)
        rs = np.random.default_rng(seed + 1).integers(10**8, 10**9, len(images))
        return np.stack([chaos.encrypt(m, int(r))[1] for m, r in zip(images, rs)])
    if scheme == "chaos_literal_sign_undone":
        # no key needed: pixel means of a real image are positive, so sign(mean(X)) is the sign of
        # the scheme's scalar; what remains is a per-image scale
        X = encrypt_stack(images, "chaos_literal", seed)
        return X * np.sign(X.reshape(len(X), -1).mean(1))[:, None, None]
    if scheme == "pixel_permutation":
        perm = PixelPermutation(seed)
        return np.stack([perm.encrypt(m) for m in images])
    if scheme == "aes_ctr":
        aes = AESCTR.generate(seed)
        return np.stack([aes.encrypt(m, i) for i, m in enumerate(images)])
    raise KeyError(f"unknown scheme {scheme!r}; choose one of {SCHEMES}")
