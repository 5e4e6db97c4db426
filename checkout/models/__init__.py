from checkout.models.checkout import (
    CheckoutLink,
    CheckoutSession,
    CheckoutSource,
    PaymentChoice,
    PricingPage,
    PublicPrice,
    SessionStatus,
)

__all__ = [
    "CheckoutLink",
    "CheckoutSession",
    "CheckoutSource",
    "PaymentChoice",
    "PricingPage",
    "PublicPrice",
    "SessionStatus",
]
