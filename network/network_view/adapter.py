"""Read the network from the database as the plain inputs of :mod:`network.graph`.

The one adapter between the tables and the pure graph package: :func:`load_network` returns
``(organisations, collaborations, places)`` as :class:`~network.graph.OrgNode`,
:class:`~network.graph.Collaboration` and :class:`~network.graph.Place`, ready for
``build_graph(*load_network(filters))``. Other areas (suggestions, digests, benchmarks) reuse it.

Filters select **organisations** by Kreis, model region and kind (values of one filter are
alternatives, different filters must all hold) and **collaborations** by kind; a collaboration
is kept only when both its organisations are selected (the induced subgraph) or, with
``with_partners``, when at least one is, its partner joining the graph. Places are the selected
municipalities plus those of the organisations loaded.

:func:`data_version` is a cheap fingerprint of everything :func:`load_network` reads; the
coordinators' analyses are cached under it (see :mod:`network.network_view.services`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from network.extensions import db
from network.graph import ACTIVE, Collaboration, OrgNode, Place
from network.models import Collaboration as CollaborationRow
from network.models import Municipality, Organisation, OrganisationTag

__all__ = ["NetworkFilters", "load_network", "data_version", "organisation_conditions"]


def _tuple(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(sorted({str(v) for v in values if str(v)}))


@dataclass(frozen=True)
class NetworkFilters:
    """Which part of the network to load (empty tuples: no restriction).

    ``kreise`` are 5-digit Kreis keys (``"05566"``), ``model_regions`` slugs of
    ``MODEL_REGIONS``, ``kinds`` ``ORGANISATION_KINDS`` codes and ``edge_kinds``
    ``COLLABORATION_KINDS`` codes. Values are kept sorted and unique, so equal filters are equal
    cache keys. ``with_partners`` adds the direct partners of the selected organisations (and
    the collaborations with them), so that work across the border of the selection counts.
    """

    kreise: tuple[str, ...] = ()
    model_regions: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    edge_kinds: tuple[str, ...] = ()
    with_partners: bool = False

    def __post_init__(self) -> None:
        for name in ("kreise", "model_regions", "kinds", "edge_kinds"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        object.__setattr__(self, "with_partners", bool(self.with_partners))

    @property
    def is_empty(self) -> bool:
        return not (
            self.kreise or self.model_regions or self.kinds or self.edge_kinds or self.with_partners
        )

    @property
    def selects_organisations(self) -> bool:
        """Whether the filters restrict the organisations (not only the collaborations)."""
        return bool(self.kreise or self.model_regions or self.kinds)

    def as_args(self) -> dict[str, Any]:
        """Query-string arguments reproducing these filters (``url_for(..., **as_args())``)."""
        pairs = (
            ("kreis", self.kreise),
            ("model_region", self.model_regions),
            ("kind", self.kinds),
            ("edge_kind", self.edge_kinds),
        )
        args: dict[str, Any] = {key: list(values) for key, values in pairs if values}
        if self.with_partners:
            args["partners"] = "1"
        return args

    def key(self) -> tuple[Any, ...]:
        return (self.kreise, self.model_regions, self.kinds, self.edge_kinds, self.with_partners)

    def selects_place(self, place: Any) -> bool:
        """Whether the Kreis and model-region filters select ``place`` (a :class:`Place`; the
        first five digits of an AGS are its Kreis key)."""
        if self.kreise and place.ags[:5] not in self.kreise:
            return False
        return not (self.model_regions and place.model_region not in self.model_regions)


def _place_conditions(filters: NetworkFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.kreise:
        conditions.append(Municipality.kreis_ags.in_(filters.kreise))
    if filters.model_regions:
        conditions.append(Municipality.model_region.in_(filters.model_regions))
    return conditions


def organisation_conditions(filters: NetworkFilters) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on ``Organisation`` for the organisation filters (Kreis, region, kind)."""
    conditions: list[sa.ColumnElement[bool]] = []
    places = _place_conditions(filters)
    if places:
        conditions.append(Organisation.ags.in_(sa.select(Municipality.ags).where(*places)))
    if filters.kinds:
        conditions.append(Organisation.kind.in_(filters.kinds))
    return conditions


def _selected_ids(filters: NetworkFilters) -> sa.Select:
    return sa.select(Organisation.id).where(*organisation_conditions(filters))


def load_places(filters: NetworkFilters | None = None) -> list[Place]:
    """The municipalities the filters select, as :class:`Place`, in AGS order."""
    filters = filters or NetworkFilters()
    rows = db.session.execute(
        sa.select(
            Municipality.ags,
            Municipality.name,
            Municipality.kreis,
            Municipality.latitude,
            Municipality.longitude,
            Municipality.population,
            Municipality.model_region,
        )
        .where(*_place_conditions(filters))
        .order_by(Municipality.ags)
    ).all()
    return [Place(*row) for row in rows]


def load_network(
    filters: NetworkFilters | None = None,
    *,
    statuses: Iterable[str] = (ACTIVE,),
) -> tuple[list[OrgNode], list[Collaboration], list[Place]]:
    """The selected organisations, their collaborations among each other and the places.

    Parameters
    ----------
    filters : NetworkFilters, optional
        ``None`` loads everything.
    statuses : iterable of str, optional (default=("active",))
        Collaboration statuses to load (``"proposed"``, ``"active"``, ``"ended"``).

    Returns
    -------
    tuple
        ``(organisations, collaborations, places)``: organisations in id order with their
        offers and needs, collaborations in id order (``source < target``), places in AGS
        order: the selected ones plus those of the organisations loaded (use
        :meth:`NetworkFilters.selects_place` to tell them apart). Plain data: nothing refers to
        the session any more.
    """
    filters = filters or NetworkFilters()
    conditions = organisation_conditions(filters)
    selected = _selected_ids(filters)

    edge_conditions: list[sa.ColumnElement[bool]] = [CollaborationRow.status.in_(tuple(statuses))]
    if filters.edge_kinds:
        edge_conditions.append(CollaborationRow.kind.in_(filters.edge_kinds))
    if conditions and filters.with_partners:
        edge_conditions.append(
            sa.or_(CollaborationRow.org_a_id.in_(selected), CollaborationRow.org_b_id.in_(selected))
        )
    elif conditions:
        edge_conditions += [
            CollaborationRow.org_a_id.in_(selected),
            CollaborationRow.org_b_id.in_(selected),
        ]
    org_condition: sa.ColumnElement[bool] | None = None
    if conditions and filters.with_partners:
        edges = sa.select(CollaborationRow.org_a_id, CollaborationRow.org_b_id).where(
            *edge_conditions
        )
        org_condition = sa.or_(
            Organisation.id.in_(selected),
            Organisation.id.in_(edges.with_only_columns(CollaborationRow.org_a_id)),
            Organisation.id.in_(edges.with_only_columns(CollaborationRow.org_b_id)),
        )
    elif conditions:
        org_condition = sa.and_(*conditions)
    org_filter = [org_condition] if org_condition is not None else []

    tags: dict[int, tuple[list[str], list[str]]] = {}
    tag_query = sa.select(
        OrganisationTag.organisation_id, OrganisationTag.direction, OrganisationTag.tag
    )
    if org_filter:
        tag_query = tag_query.where(
            OrganisationTag.organisation_id.in_(sa.select(Organisation.id).where(*org_filter))
        )
    for org_id, direction, tag in db.session.execute(tag_query):
        offers, needs = tags.setdefault(org_id, ([], []))
        (offers if direction == "offer" else needs).append(tag)

    organisations = []
    no_tags: tuple[list[str], list[str]] = ([], [])
    for row in db.session.execute(
        sa.select(
            Organisation.id,
            Organisation.kind,
            Organisation.name,
            Organisation.ags,
            Organisation.latitude,
            Organisation.longitude,
            Organisation.exact_location,
            Organisation.synthetic,
        )
        .where(*org_filter)
        .order_by(Organisation.id)
    ):
        offers, needs = tags.get(row.id, no_tags)
        # A point that is only the municipality's centre is left to build_graph, which then
        # marks the node as approximately located.
        exact = row.exact_location and row.latitude is not None
        organisations.append(
            OrgNode(
                row.id,
                row.kind,
                row.name,
                row.ags,
                row.latitude if exact else None,
                row.longitude if exact else None,
                frozenset(offers),
                frozenset(needs),
                row.synthetic,
            )
        )

    collaborations = [
        Collaboration(a, b, kind, status, since)
        for a, b, kind, status, since in db.session.execute(
            sa.select(
                CollaborationRow.org_a_id,
                CollaborationRow.org_b_id,
                CollaborationRow.kind,
                CollaborationRow.status,
                CollaborationRow.since,
            )
            .where(*edge_conditions)
            .order_by(CollaborationRow.id)
        )
    ]
    # Every organisation's municipality is among the places (build_graph takes Kreis, model
    # region and the approximate location from it), even a partner's outside the selection.
    needed = {o.ags for o in organisations}
    places = [p for p in load_places() if filters.selects_place(p) or p.ags in needed]
    return organisations, collaborations, places


def data_version() -> tuple[Any, ...]:
    """A fingerprint that changes whenever anything :func:`load_network` reads changes.

    Counts, largest ids and latest ``updated_at`` of organisations and collaborations, and the
    number of offer/need rows (the directory touches ``updated_at`` on every edit, tags
    included). One round trip of aggregate queries over indexed columns.
    """

    def scalar(column: Any, model: Any) -> sa.ScalarSelect:
        return sa.select(column).select_from(model).scalar_subquery()

    row = db.session.execute(
        sa.select(
            scalar(sa.func.count(), Organisation),
            scalar(sa.func.max(Organisation.id), Organisation),
            scalar(sa.func.max(Organisation.updated_at), Organisation),
            scalar(sa.func.count(), CollaborationRow),
            scalar(sa.func.max(CollaborationRow.id), CollaborationRow),
            scalar(sa.func.max(CollaborationRow.updated_at), CollaborationRow),
            scalar(sa.func.count(), OrganisationTag),
        )
    ).one()
    return tuple(str(value) if value is not None else None for value in row)
