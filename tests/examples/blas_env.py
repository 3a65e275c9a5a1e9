"""The environment that makes ctorch and PyTorch run the very same OpenBLAS kernels.

ctorch replaces OpenBLAS 0.3.21's fallback "Prescott" kernels by the AVX-512/AVX2 ones on CPUs
newer than that OpenBLAS (core/threads.hpp), while PyTorch keeps what OpenBLAS detected. Different
kernels round sums differently, so a digit-for-digit comparison pins both to OpenBLAS's own choice
through OPENBLAS_CORETYPE, which both respect.
"""
import ctypes
import os


def detected_coretype():
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
    except OSError:
        return None
    lib.openblas_get_corename.restype = ctypes.c_char_p
    name = lib.openblas_get_corename()
    return name.decode() if name else None


def same_kernels_env(**extra):
    env = dict(os.environ, **extra)
    core = detected_coretype()
    if core:
        env["OPENBLAS_CORETYPE"] = core
    return env
