from customers.models.customer import Customer

__all__ = ["Customer"]
