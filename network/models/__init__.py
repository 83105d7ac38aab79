"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from network.models.collaboration import Collaboration, Suggestion
from network.models.geo import Municipality
from network.models.mail import Announcement, DigestDelivery, OutboxMessage
from network.models.ops import AuditLog, Job, SchedulerLock
from network.models.organisation import Membership, Organisation, OrganisationTag
from network.models.positions import Application, Invitation, Position, SavedSearch, TraineeProfile
from network.models.rounds import (
    AllocationRound,
    PlacementRanking,
    RoundAssignment,
    RoundPlacement,
    RoundTrainee,
    TraineeRanking,
)
from network.models.supply import (
    CampaignPage,
    PlanningFigure,
    Recommendation,
    SupplyFact,
    ToolboxItem,
)
from network.models.user import User

__all__ = [
    "AllocationRound",
    "Announcement",
    "Application",
    "AuditLog",
    "CampaignPage",
    "Collaboration",
    "DigestDelivery",
    "Invitation",
    "Job",
    "Membership",
    "Municipality",
    "Organisation",
    "OrganisationTag",
    "OutboxMessage",
    "PlacementRanking",
    "PlanningFigure",
    "Position",
    "Recommendation",
    "RoundAssignment",
    "RoundPlacement",
    "RoundTrainee",
    "SavedSearch",
    "SchedulerLock",
    "Suggestion",
    "SupplyFact",
    "ToolboxItem",
    "TraineeProfile",
    "TraineeRanking",
    "User",
]
