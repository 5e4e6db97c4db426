from customers.models.customer import Customer
from customers.models.customer_import import CustomerImport

__all__ = ["Customer", "CustomerImport"]
