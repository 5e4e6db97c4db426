from loyalty.models.programme import (
    LoyaltyAccount,
    LoyaltyProgramme,
    LoyaltyTier,
    PointsEntry,
    Redemption,
    Reward,
)

__all__ = [
    "LoyaltyAccount",
    "LoyaltyProgramme",
    "LoyaltyTier",
    "PointsEntry",
    "Redemption",
    "Reward",
]
