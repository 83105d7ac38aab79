"""Guards for the graph functions: reject unsupported kinds of graph at the door."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import networkx as nx

from network.graph.exceptions import GraphTypeError

__all__ = ["not_implemented_for"]

F = TypeVar("F", bound=Callable[..., Any])

_CHECKS: dict[str, Callable[[nx.Graph], bool]] = {
    "directed": lambda G: G.is_directed(),
    "undirected": lambda G: not G.is_directed(),
    "multigraph": lambda G: G.is_multigraph(),
    "graph": lambda G: not G.is_multigraph(),
}


def not_implemented_for(*graph_types: str) -> Callable[[F], F]:
    """Reject graphs of the given kinds, like :func:`networkx.utils.not_implemented_for`.

    The decorated function takes the graph as its first argument (or as ``G=``). A graph of one
    of the named kinds, or an argument that is no networkx graph at all, raises
    :class:`~network.graph.exceptions.GraphTypeError`, which is both a ``GraphError`` and a
    :class:`networkx.NetworkXNotImplemented`.

    Parameters
    ----------
    *graph_types : str
        Any of ``"directed"``, ``"undirected"``, ``"multigraph"``, ``"graph"``.

    Raises
    ------
    ValueError
        If a name is not one of the four kinds.

    Examples
    --------
    >>> @not_implemented_for("directed")
    ... def order(G):
    ...     return G.number_of_nodes()
    >>> order(nx.path_graph(3))
    3
    >>> order(nx.DiGraph([(0, 1)]))
    Traceback (most recent call last):
    ...
    network.graph.exceptions.GraphTypeError: not implemented for directed graphs
    """
    unknown = [name for name in graph_types if name not in _CHECKS]
    if unknown:
        raise ValueError(f"unknown graph kinds {unknown}; use {sorted(_CHECKS)}")

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            G = args[0] if args else kwargs.get("G")
            if not isinstance(G, nx.Graph):
                raise GraphTypeError(
                    f"{fn.__name__} expects a networkx graph, got {type(G).__name__}",
                    got=type(G).__name__,
                )
            for name in graph_types:
                if _CHECKS[name](G):
                    raise GraphTypeError(f"not implemented for {name} graphs", kind=name)
            return fn(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
