"""Errors of the graph package; every one derives from :class:`GraphError`."""

from __future__ import annotations

from typing import Any

import networkx as nx

__all__ = [
    "GraphError",
    "InvalidInputError",
    "UnknownOrganisationError",
    "DuplicateOrganisationError",
    "GraphTypeError",
    "UnsupportedFormatError",
]


class GraphError(nx.NetworkXException):
    """Base class of the errors raised by ``network.graph``.

    It derives from :class:`networkx.NetworkXException`, so code that catches networkx errors
    catches ours too. Besides the English message (``str(err)``), an error carries a stable
    ``code`` and a ``params`` dict, and renders itself German first via :meth:`text`, so the web
    layer can flash it in either language.

    Examples
    --------
    >>> err = GraphError("something is wrong")
    >>> err.code, err.text("en")
    ('graph_error', 'something is wrong')
    >>> err.text()
    'Der Netzwerkgraph kann nicht verarbeitet werden: something is wrong'
    """

    code = "graph_error"
    _de = "Der Netzwerkgraph kann nicht verarbeitet werden: {message}"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def text(self, language: str = "de") -> str:
        """The message in ``language`` (``"de"``, default, or ``"en"``)."""
        if language == "en":
            return self.message
        return self._de.format(message=self.message, **self.params)


class InvalidInputError(GraphError):
    """An organisation, collaboration, place or parameter is malformed.

    Examples
    --------
    >>> InvalidInputError("bad kind", field="kind", value="friendship").text()
    "Ungültige Angabe im Feld kind: 'friendship'."
    """

    code = "invalid_input"
    _de = "Ungültige Angabe im Feld {field}: {value!r}."


class UnknownOrganisationError(GraphError, KeyError):
    """A collaboration names an organisation that is not among the organisations.

    Examples
    --------
    >>> err = UnknownOrganisationError("unknown organisation 7 (target)", id=7, role="target")
    >>> err.params["id"], err.text()
    (7, 'Die Kooperation nennt die unbekannte Organisation 7 (target).')
    """

    code = "unknown_organisation"
    _de = "Die Kooperation nennt die unbekannte Organisation {id!r} ({role})."

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return self.message


class DuplicateOrganisationError(GraphError):
    """Two organisations share an id, or an id collides with a municipality node."""

    code = "duplicate_organisation"
    _de = "Die Kennung {id!r} ist doppelt vergeben."


class GraphTypeError(GraphError, nx.NetworkXNotImplemented):
    """The function does not support this kind of graph (e.g. a directed graph)."""

    code = "graph_type"
    _de = "Diese Auswertung unterstützt den Graphtyp nicht: {message}"


class UnsupportedFormatError(GraphError):
    """:func:`~network.graph.export.write_graph` got a file extension it cannot write."""

    code = "unsupported_format"
    _de = "Das Dateiformat {suffix} wird nicht unterstützt (möglich: {supported})."
