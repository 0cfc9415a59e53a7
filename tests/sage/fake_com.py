"""A fake `win32com.client.Dispatch` that behaves like pywin32 late binding over the simulator.

Properties come back as values and methods as callables; ByRef out-parameters only work through a
`VARIANT(VT_BYREF | …)` whose `.value` is written back, and Python objects that COM cannot marshal are refused with
pywin32's own wording, so a gateway that forgot the marshalling fails here exactly as it would on Windows.
"""

from __future__ import annotations

from typing import Any

from mlconnector.sage.boi import ByRef
from mlconnector.sage.sim.objects import Counted
from mlconnector.sage.sim.script import SimBackend

VT_VARIANT = 12
VT_BYREF = 0x4000


class ComError(Exception):
    """Stands in for pywintypes.com_error."""


class FakeVariant:
    def __init__(self, vt: int, value: Any) -> None:
        self.varianttype = vt
        self.value = value


def make_variant(initial: Any) -> FakeVariant:
    return FakeVariant(VT_BYREF | VT_VARIANT, initial)


class FakeCDispatch:
    """Late-bound IDispatch over one simulator object."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            attr = getattr(self._target, name)
        except AttributeError:
            raise ComError(f"<unknown>.{name}: member not found") from None
        if callable(attr):
            return lambda *args: self._invoke(attr, args)
        return _to_com(attr)

    def _invoke(self, fn: Any, args: tuple[Any, ...]) -> Any:
        real: list[Any] = []
        refs: list[tuple[FakeVariant, ByRef]] = []
        for a in args:
            if isinstance(a, FakeVariant):
                if not a.varianttype & VT_BYREF:
                    real.append(a.value)
                    continue
                holder = ByRef(a.value)
                refs.append((a, holder))
                real.append(holder)
            elif isinstance(a, FakeCDispatch):
                real.append(a._target)
            elif a is None or isinstance(a, str | int | float | bool):
                real.append(a)
            else:
                raise TypeError(f"Objects of type '{type(a).__name__}' can not be converted to a COM VARIANT")
        try:
            result = fn(*real)
        except RuntimeError as exc:  # the simulator's NewObject failures surface as COM errors
            raise ComError(str(exc)) from None
        for variant, holder in refs:
            variant.value = holder.value
        return _to_com(result)


def _to_com(value: Any) -> Any:
    if isinstance(value, Counted):
        return FakeCDispatch(value)
    if isinstance(value, bool):
        return int(value)
    return value


def fake_dispatch_for(sim: SimBackend) -> Any:
    def dispatch(prog_id: str) -> FakeCDispatch:
        if prog_id != "ProvideX.Script":
            raise ComError(f"Invalid class string {prog_id}")
        return FakeCDispatch(sim.create_script())

    return dispatch
