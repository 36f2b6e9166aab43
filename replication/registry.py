"""One place for each name: a registry per kind (datasets, models, checks).

CLI choices and parametrised tests read the registry, so adding a loader or a model is one file.
Unlike cleanvision's ``@register_issue_manager``, registering a name twice raises instead of
silently keeping one of the two.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named builders of one kind, filled by a decorator.

    Examples
    --------
    >>> losses = Registry("loss")
    >>> @losses.register("l1")
    ... def l1(x):
    ...     return abs(x)
    >>> losses.get("l1")(-2)
    2
    >>> losses.names()
    ['l1']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(
                    f"{self.kind} {name!r} is registered twice "
                    f"({self._items[name]!r} and {obj!r}); pick another name"
                )
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
