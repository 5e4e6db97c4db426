from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from cobro.models import Membership, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    legal_name = factory.Sequence(lambda n: f"Empresa {n} SpA")
    display_name = factory.Sequence(lambda n: f"Empresa {n}")
    slug = factory.Sequence(lambda n: f"empresa-{n}")
    country = "CL"
    default_currency = "CLP"
    time_zone = "America/Santiago"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    username = factory.LazyAttribute(lambda o: o.email)
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-9")

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if not create:
            return
        from allauth.account.models import EmailAddress

        EmailAddress.objects.get_or_create(
            user=obj, email=obj.email, defaults={"verified": True, "primary": True}
        )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = "owner"
