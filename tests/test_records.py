"""runtime.records.record: annotated classes as named tuples, without typing."""

from __future__ import annotations

import pytest

from runtime.records import record


@record
class Span:
    """A test record: two fields without defaults, two with, and a method."""

    lo: int
    hi: int
    name: str = "anon"
    tag: int = 7

    def size(self) -> int:
        return self.hi - self.lo


def test_fields_defaults_and_methods() -> None:
    s = Span(3, 10)
    assert s == (3, 10, "anon", 7) and isinstance(s, tuple)
    assert (s.lo, s.hi, s.name, s.tag) == (3, 10, "anon", 7)
    assert s.size() == 7 and Span.__doc__.startswith("A test record")
    assert Span._fields == ("lo", "hi", "name", "tag")
    assert s._replace(name="x") == (3, 10, "x", 7)
    assert Span(1, 2, tag=0).tag == 0
    lo, hi, *_ = s
    assert (lo, hi) == (3, 10)
    assert repr(s) == "Span(lo=3, hi=10, name='anon', tag=7)"
    with pytest.raises(AttributeError):
        s.lo = 4  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.extra = 1  # type: ignore[attr-defined]


def test_a_default_before_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError, match="defaults must come last"):
        @record
        class Bad:
            a: int = 1
            b: int
