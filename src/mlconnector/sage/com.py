"""The COM backend: `ProvideX.Script` through pywin32 late binding, driven by the same gateway as the simulator.

pywin32 is imported lazily (Windows only). ByRef out-parameters go over as `VARIANT(VT_BYREF | VT_VARIANT, …)` and
their `.value` is read back; if a MakePy/early-bound object returns a tuple instead, the extra values fill the
holders in order (reference §5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlconnector.sage.boi import ByRef, CallCounter

PROG_ID = "ProvideX.Script"


def _pywin32() -> tuple[Callable[[str], Any], Callable[[Any], Any], Callable[[], None]]:
    try:
        import pythoncom  # type: ignore[import-not-found]
        import win32com.client  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - only on a box without pywin32
        raise RuntimeError(
            "The COM backend needs Windows with pywin32 and Sage 100 installed; use --backend simulator elsewhere."
        ) from exc

    def variant(initial: Any) -> Any:
        return win32com.client.VARIANT(pythoncom.VT_BYREF | pythoncom.VT_VARIANT, initial)

    return win32com.client.Dispatch, variant, pythoncom.CoInitialize


@dataclass
class ComBackend:
    """Real Sage 100 over COM; `dispatch`/`variant` are injectable so CI runs the marshalling against a fake."""

    home_path: str
    dispatch: Callable[[str], Any] | None = None
    variant: Callable[[Any], Any] | None = None
    co_initialize: Callable[[], None] | None = None
    counter: CallCounter = field(default_factory=CallCounter)
    name: str = "com"

    def _resolve(self) -> None:
        if self.dispatch is None or self.variant is None:
            self.dispatch, self.variant, self.co_initialize = _pywin32()

    def home(self) -> str:
        return self.home_path

    def thread_init(self) -> None:
        """COM objects are apartment-bound: every thread that drives a session initialises COM first."""
        self._resolve()
        if self.co_initialize:
            self.co_initialize()

    def create_script(self) -> ComObject:
        self._resolve()
        assert self.dispatch is not None
        return ComObject(self.dispatch(PROG_ID), PROG_ID, self)


class ComObject:
    """Wraps one late-bound dispatch: converts ByRef holders to VARIANTs and back, counts every call."""

    def __init__(self, disp: Any, name: str, backend: ComBackend) -> None:
        self._disp = disp
        self._name = name
        self._backend = backend

    def _wrap(self, value: Any, name: str) -> Any:
        if value is None or isinstance(value, str | int | float | bool):
            return value
        return ComObject(value, name, self._backend)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        target = getattr(self._disp, attr)
        if not callable(target):  # a property: sLastErrorMsg, nEOF, oLines
            self._backend.counter.hit(self._name, attr)
            if attr.startswith("n"):
                return int(float(target or 0))
            if attr.startswith("s"):
                return "" if target is None else str(target)
            return self._wrap(target, f"{self._name}.{attr}")

        def call(*args: Any) -> Any:
            self._backend.counter.hit(self._name, attr)
            assert self._backend.variant is not None
            refs: list[tuple[ByRef, Any]] = []
            com_args = []
            for a in args:
                if isinstance(a, ByRef):
                    v = self._backend.variant(a.value)
                    refs.append((a, v))
                    com_args.append(v)
                elif isinstance(a, ComObject):
                    com_args.append(a._disp)
                else:
                    com_args.append(a)
            result = target(*com_args)
            if isinstance(result, tuple):  # early binding: (ret, out1, out2, …)
                result, outs = result[0], result[1:]
                for (holder, _v), out in zip(refs, outs, strict=False):
                    holder.value = out
            else:
                for holder, v in refs:
                    holder.value = v.value
            if attr.startswith("n") and attr not in ("NewObject",) and result is not None:
                return int(float(result))
            if attr == "NewObject":
                return self._wrap(result, str(args[0]))
            return self._wrap(result, f"{self._name}.{attr}")

        return call
