from loyalty.models.programme import (
    LoyaltyAccount,
    LoyaltyProgramme,
    LoyaltyTier,
    PointsEntry,
    Redemption,
    Reward,
)
from loyalty.models.referral import Referral, ReferralCode

__all__ = [
    "LoyaltyAccount",
    "LoyaltyProgramme",
    "LoyaltyTier",
    "PointsEntry",
    "Redemption",
    "Referral",
    "ReferralCode",
    "Reward",
]
