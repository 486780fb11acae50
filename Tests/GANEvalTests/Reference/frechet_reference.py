#!/usr/bin/env python3
"""Reference Fréchet distances for FrechetDistanceTests.matchesScipy.

The two feature sets are defined by closed formulas that the Swift test recomputes in Float32
(the values below are exactly representable after the Float32 rounding done here too). The FD is
computed as pytorch-fid's calculate_frechet_distance: np.cov (ddof 1) and scipy.linalg.sqrtm.

Run: python3 Tests/GANEvalTests/Reference/frechet_reference.py   (numpy 2.4.6, scipy 1.17.1)
"""
import numpy as np
from scipy import linalg


def features(n, d, phase, scale):
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(d, dtype=np.float64)[None, :]
    x = scale * np.sin(0.37 * i * (j + 1) + phase) + 0.05 * j + 0.01 * np.cos(1.7 * i + j)
    return x.astype(np.float32).astype(np.float64)


def fd(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    covmean = (covmean[0] if isinstance(covmean, tuple) else covmean).real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


a = features(40, 5, 0.0, 1.0)
b = features(55, 5, 0.9, 0.7)
c = features(30, 5, 2.1, 1.3)
print(float(fd(a, b)), float(fd(a, c)), float(fd(b, c)))
