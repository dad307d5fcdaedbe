"""Package front doors whose public names are imported on first use (PEP 562).

``matcher.scoring``, ``matcher.jobs``, ``matcher.partnerships`` and ``matcher.gazetteer``
name what the rest of jetmatch uses, but importing the package must stay cheap: `jetmatch
score` takes a job lock without loading Huey, scoring one pair with a stored model loads no
learner, resolving a place from its cache file loads no SQLAlchemy. Each package calls
:func:`lazy_exports` once with a table of its submodules and the names each provides; a name
is imported from its submodule the first time it is read, then kept in the package.

Examples
--------
>>> import sys, types
>>> package = types.ModuleType("demo_pkg")
>>> sys.modules["demo_pkg"] = package
>>> lazy_exports("demo_pkg", {"json": ["dumps"]}, root="")
['dumps']
>>> package.dumps({"a": 1})
'{"a": 1}'
>>> "dumps" in dir(package)
True
>>> package.loads
Traceback (most recent call last):
...
AttributeError: module 'demo_pkg' has no attribute 'loads'
>>> del sys.modules["demo_pkg"]
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, Iterable[str]], *, keep: Iterable[str] = (),
                 root: str | None = None) -> list[str]:
    """Give ``package`` a module ``__getattr__`` and ``__dir__`` for ``exports``; return the names, sorted.

    ``exports`` maps a submodule's name (relative to ``package``, or to ``root`` when given)
    to the names it provides. ``keep`` lists exported names that are also the names of
    submodules (``matcher.partnerships.evaluate`` is both the function and its module):
    importing such a submodule then does not replace the exported name in the package.
    """
    module = sys.modules[package]
    where = {name: sub for sub, names in exports.items() for name in names}
    prefix = f"{package}." if root is None else (f"{root}." if root else "")

    def __getattr__(name: str):
        try:
            sub = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(prefix + sub), name)
        module.__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*module.__dict__, *where})

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__
    kept = frozenset(keep)
    if kept:
        module.__class__ = type("KeepingModule", (_Keeping,), {"_kept": kept})
    return sorted(where)


class _Keeping(types.ModuleType):
    """A package module that ignores the binding of its submodule over a kept exported name."""

    _kept: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value) -> None:
        if name in self._kept and isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            return
        super().__setattr__(name, value)
