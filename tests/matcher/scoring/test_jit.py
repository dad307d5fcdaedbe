"""The scoring kernels start without SciPy's linear algebra; Numba's own linear algebra still works."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_kernel_call_does_not_import_scipy_linalg():
    out = _run("""
        import sys
        import numpy as np
        from matcher.scoring import _jit
        from matcher.scoring.topk import renumber
        q = renumber(np.array([[0, 2, 1]], np.uint8), np.arange(256, dtype=np.uint8)[::-1].copy())
        print(_jit.DEFERRED, "scipy.linalg" in sys.modules, q[0, :4].tolist(), q.shape)
    """)
    assert out == "True False [255, 253, 254, 255] (1, 32)"


def test_numba_linear_algebra_still_imports_and_checks_scipy_blas():
    out = _run("""
        import sys
        import numpy as np
        from matcher.scoring import topk  # noqa: F401 (the deferral happens here)
        import numba.np.arraymath as arraymath
        import numba.np.linalg as linalg
        from numba import njit

        @njit
        def f(a, b):
            return np.dot(a, b), np.linalg.inv(a)

        a = np.array([[2.0, 0.0], [1.0, 4.0]])
        dot, inv = f(a, np.array([1.0, 3.0]))
        print(arraymath.ensure_blas is linalg.ensure_blas, arraymath._HAVE_BLAS, "scipy.linalg" in sys.modules,
              dot.tolist(), np.allclose(inv @ a, np.eye(2)))
    """)
    assert out == "True True True [2.0, 13.0] True"
