"""Errors of the matching package; every one derives from :class:`MatchingError`."""

from __future__ import annotations

from typing import Any

__all__ = [
    "MatchingError",
    "InvalidPreferencesError",
    "UnknownTraineeError",
    "UnknownPlacementError",
    "DuplicatePreferenceError",
    "CapacityError",
    "MissingCapacityError",
]

#: German renderings by ``code``; ids in ``params`` are filled in with ``repr``, and
#: ``side`` ("trainee"/"placement") becomes the German noun.
_GERMAN = {
    "matching_error": "Die Zuteilung ist nicht möglich: {message}",
    "invalid_optimal": (
        "Unbekannte Optimierungsseite {optimal}: erlaubt sind 'trainee' und 'placement'."
    ),
    "not_a_mapping": "{name} muss eine Zuordnung (dict) sein, nicht {kind}.",
    "none_placement": "None kann keine Einsatzort-Kennung sein (es steht für „nicht zugeteilt“).",
    "not_a_sequence": (
        "Die Präferenzliste von {side} {owner} muss eine geordnete Liste sein, nicht {kind}."
    ),
    "unhashable_id": "Die Präferenzliste von {side} {owner} enthält die unbrauchbare Kennung {id}.",
    "duplicate_preference": "{id} steht mehrfach in der Präferenzliste von {side} {owner}.",
    "unknown_placement": "{side} {owner} nennt den unbekannten Einsatzort {id}.",
    "unknown_trainee": "{side} {owner} nennt die unbekannte Person in Ausbildung {id}.",
    "capacity_for_unknown_placement": (
        "Für den unbekannten Einsatzort {id} ist eine Platzzahl angegeben "
        "(er hat keine Präferenzliste)."
    ),
    "matching_unknown_trainee": "Die Zuteilung nennt die unbekannte Person in Ausbildung {id}.",
    "matching_unknown_placement": (
        "Die Zuteilung weist {owner} dem unbekannten Einsatzort {id} zu."
    ),
    "unranked_assignment": (
        "{owner} ist dem Einsatzort {id} zugeteilt, der nicht auf der eigenen Liste steht."
    ),
    "invalid_capacity": (
        "Die Platzzahl {capacity} von Einsatzort {id} ist keine nicht-negative ganze Zahl."
    ),
    "missing_capacity": "Für den Einsatzort {id} ist keine Platzzahl angegeben.",
    "over_capacity": "Einsatzort {id}: {count} Personen zugeteilt, aber nur {capacity} Platz/Plätze.",
}

_SIDES_DE = {"trainee": "Auszubildende/r", "placement": "Einsatzort"}


class MatchingError(ValueError):
    """Base class of the errors raised by ``network.matching``.

    ``str(err)`` is the English message. For the web layer an error also carries a stable
    ``code``, the offending ids in ``params``, and renders itself German first via
    :meth:`text`.

    Parameters
    ----------
    message : str
        The English message.
    code : str, optional (default=the class's ``code``)
        Stable identifier of the reason, e.g. ``"unknown_placement"``.
    **params
        The values the message names (``owner``, ``id``, ``capacity``, ...).

    Examples
    --------
    >>> err = MatchingError("no seats left", code="matching_error")
    >>> isinstance(err, ValueError), err.code, err.text("en")
    (True, 'matching_error', 'no seats left')
    >>> err.text()
    'Die Zuteilung ist nicht möglich: no seats left'
    """

    code = "matching_error"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params

    def text(self, language: str = "de") -> str:
        """The message in ``language``: ``"de"`` (default) or ``"en"``."""
        template = _GERMAN.get(self.code)
        if language == "en" or template is None:
            return self.message
        values = {key: repr(value) for key, value in self.params.items()}
        if "side" in self.params:
            values["side"] = _SIDES_DE.get(self.params["side"], str(self.params["side"]))
        values.setdefault("message", self.message)
        try:
            text = template.format(**values)
        except (KeyError, IndexError):  # a raise site without every parameter: stay useful
            return self.message
        return text[0].upper() + text[1:]


class InvalidPreferencesError(MatchingError):
    """An argument is not a mapping, a preference list not an ordered sequence, or an id unusable."""

    code = "not_a_sequence"


class UnknownTraineeError(MatchingError):
    """A placement (or a matching) names a trainee that has no preference list."""

    code = "unknown_trainee"


class UnknownPlacementError(MatchingError):
    """A trainee, a capacity or a matching names a placement that has no preference list."""

    code = "unknown_placement"


class DuplicatePreferenceError(MatchingError):
    """An id appears more than once in one preference list."""

    code = "duplicate_preference"


class CapacityError(MatchingError):
    """A capacity is not a non-negative integer, or a matching exceeds it."""

    code = "invalid_capacity"


class MissingCapacityError(CapacityError):
    """A placement has a preference list but no capacity."""

    code = "missing_capacity"
