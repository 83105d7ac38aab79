"""The stakeholder graph of the Münsterland health region and the coordinators' analyses.

Pure Python on networkx, numpy and scipy (no Flask, no database):

- :mod:`~network.graph.build`: plain inputs (:class:`OrgNode`, :class:`Collaboration`,
  :class:`Place`, dicts or demo objects) -> :func:`build_graph` (organisations, municipalities,
  collaborations, "located in" and neighbourhood edges) -> :func:`collaboration_graph`.
- :mod:`~network.graph.analysis`: brokers, communities, cross-municipal work, isolated and
  weakly connected organisations, components, the per-municipality table, and
  :func:`run_all_analyses`.
- :mod:`~network.graph.placements`: coverage of the five mandatory nursing placements.
- :mod:`~network.graph.export`: GraphML, GEXF and Cytoscape.js JSON.
"""

from network.graph.analysis import (
    DEFAULT_BETWEENNESS_PIVOTS,
    EXACT_BETWEENNESS_MAX_NODES,
    CommunityResult,
    betweenness_centrality,
    brokers,
    communities,
    connected_components_summary,
    cross_municipal_share,
    degree_centrality,
    isolated_organisations,
    municipality_figures,
    run_all_analyses,
    weakly_connected_organisations,
)
from network.graph.build import (
    ACTIVE,
    COLLABORATION,
    LOCATED_IN,
    MUNICIPALITY,
    NEIGHBOUR,
    ORGANISATION,
    PLACE_KIND,
    Collaboration,
    OrgNode,
    Place,
    build_graph,
    collaboration_graph,
    municipality_node,
    reference_places,
)
from network.graph.decorators import not_implemented_for
from network.graph.exceptions import (
    DuplicateOrganisationError,
    GraphError,
    GraphTypeError,
    InvalidInputError,
    UnknownOrganisationError,
    UnsupportedFormatError,
)
from network.graph.export import sanitised, to_cytoscape, to_gexf, to_graphml, write_graph
from network.graph.placements import (
    DEFAULT_REACH_KM,
    TRAINING_PROVIDER_KINDS,
    TRAINING_TAG,
    Coverage,
    CoverageReason,
    coverage_summary,
    is_training_provider,
    placement_coverage,
)

__all__ = [
    # build
    "ORGANISATION",
    "MUNICIPALITY",
    "COLLABORATION",
    "LOCATED_IN",
    "NEIGHBOUR",
    "ACTIVE",
    "PLACE_KIND",
    "OrgNode",
    "Collaboration",
    "Place",
    "municipality_node",
    "reference_places",
    "build_graph",
    "collaboration_graph",
    # analysis
    "EXACT_BETWEENNESS_MAX_NODES",
    "DEFAULT_BETWEENNESS_PIVOTS",
    "CommunityResult",
    "degree_centrality",
    "betweenness_centrality",
    "brokers",
    "communities",
    "cross_municipal_share",
    "isolated_organisations",
    "weakly_connected_organisations",
    "connected_components_summary",
    "municipality_figures",
    "run_all_analyses",
    # placements
    "TRAINING_PROVIDER_KINDS",
    "TRAINING_TAG",
    "DEFAULT_REACH_KM",
    "Coverage",
    "CoverageReason",
    "is_training_provider",
    "placement_coverage",
    "coverage_summary",
    # export
    "sanitised",
    "to_graphml",
    "to_gexf",
    "to_cytoscape",
    "write_graph",
    # errors and guards
    "GraphError",
    "InvalidInputError",
    "UnknownOrganisationError",
    "DuplicateOrganisationError",
    "GraphTypeError",
    "UnsupportedFormatError",
    "not_implemented_for",
]
