"""A small pytest + hypothesis suite that run-tests.sh runs under the fork's
mode all with the default policy (and the adaptor's suite runs under
`python -m lazy_bind -m pytest`): pytest's start-up, its assertion
rewriting, fixtures, and hypothesis's strategies, all imported lazily."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st


@dataclasses.dataclass
class Point:
    dimensions: ClassVar[int] = 2  # a ClassVar, not a field
    x: int
    y: int = 0


@pytest.fixture
def origin():
    return Point(0)


def test_a_classvar_is_not_a_field(origin):
    assert [f.name for f in dataclasses.fields(origin)] == ["x", "y"]


@given(st.integers(), st.integers())
def test_points_keep_their_coordinates(x, y):
    assert (Point(x, y).x, Point(x, y).y) == (x, y)


def test_assertions_are_rewritten():
    with pytest.raises(AssertionError, match=r"assert 1 == 2"):
        assert Point(1).x == 2
