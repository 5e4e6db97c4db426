"""Members page: invitations (send, accept, expire, reuse), roles, removal, permissions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cobro.models import Invitation, Membership, Organization
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def client_for(user, lang="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.cookies["django_language"] = lang
    client.force_login(user)
    return client


def member(org, role, email):
    user = UserFactory(email=email)
    MembershipFactory(organization=org, user=user, role=role)
    return user


def accept_path_from_mail() -> str:
    match = re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.mark.django_db
def test_owner_invites_by_email_and_invitee_accepts(org, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            "/settings/members/", {"email": "Bea@Acme.test", "role": "billing"}
        )

    assert response.status_code == 302
    assert mail.outbox[0].to == ["bea@acme.test"]
    assert "Acme SpA" in mail.outbox[0].subject
    path = accept_path_from_mail()

    bea = UserFactory(email="bea@acme.test")
    bea_client = client_for(bea)
    page = bea_client.get(path)
    assert "Join Acme SpA" in page.content.decode()
    bea_client.post(path)

    membership = Membership.objects.get(organization=org, user=bea)
    assert membership.role == "billing"
    assert "Acme SpA" in bea_client.get("/").content.decode()


@pytest.mark.django_db
def test_used_invitation_cannot_be_accepted_again(org, owner):
    invitation = Invitation.objects.create(organization=org, email="x@acme.test", role="admin")
    first = UserFactory(email="x@acme.test")
    client_for(first).post(f"/invitations/{invitation.token}/")
    intruder = UserFactory(email="intruder@evil.test")

    response = client_for(intruder).post(f"/invitations/{invitation.token}/")

    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert not Membership.objects.filter(user=intruder).exists()


@pytest.mark.django_db
def test_expired_invitation_shows_clear_message_and_changes_nothing(org):
    invitation = Invitation.objects.create(
        organization=org,
        email="late@acme.test",
        role="viewer",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    late = UserFactory(email="late@acme.test")
    client = client_for(late)

    assert "has expired" in client.get(f"/invitations/{invitation.token}/").content.decode()
    response = client.post(f"/invitations/{invitation.token}/")

    assert response.status_code == 410
    assert "has expired" in response.content.decode()
    assert not Membership.objects.filter(user=late).exists()


@pytest.mark.django_db
def test_expired_invitation_message_in_spanish(org):
    invitation = Invitation.objects.create(
        organization=org, email="t@acme.test", expires_at=timezone.now() - timedelta(days=1)
    )
    response = Client().get(f"/invitations/{invitation.token}/")
    assert "ha vencido" in response.content.decode()


@pytest.mark.django_db
def test_new_person_signs_up_through_invitation_without_creating_an_organization(org):
    invitation = Invitation.objects.create(organization=org, email="new@acme.test", role="viewer")
    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    visitor.cookies["django_language"] = "en"
    page = visitor.get(f"/invitations/{invitation.token}/")
    assert "Create an account" in page.content.decode()

    signup_page = visitor.get("/accounts/signup/").content.decode()
    assert 'name="slug"' not in signup_page
    assert "You are joining Acme SpA" in signup_page
    visitor.post(
        "/accounts/signup/",
        {
            "email": "new@acme.test",
            "password1": "Tortuga-Azul-2718",
            "password2": "Tortuga-Azul-2718",
        },
    )
    assert Organization.objects.count() == 1

    # After verifying the email the new user lands on the dashboard, which brings back the
    # invitation; accepting it makes them a member.
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(email="new@acme.test")
    EmailAddress.objects.filter(user=user).update(verified=True)
    visitor.force_login(user)
    home = visitor.get("/", follow=True)
    assert home.redirect_chain[-1][0] == f"/invitations/{invitation.token}/"
    visitor.post(f"/invitations/{invitation.token}/")
    assert Membership.objects.get(user=user, organization=org).role == "viewer"


@pytest.mark.django_db
def test_viewer_cannot_invite_and_nothing_changes(org, owner):
    viewer = member(org, "viewer", "viewer@acme.test")
    client = client_for(viewer)

    response = client.post("/settings/members/", {"email": "x@acme.test", "role": "admin"})

    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_viewer_cannot_change_roles_or_remove_members(org, owner):
    viewer = member(org, "viewer", "viewer@acme.test")
    owner_membership = Membership.objects.get(user=owner)
    client = client_for(viewer)

    assert (
        client.post(
            f"/settings/members/{owner_membership.pk}/role/", {"role": "viewer"}
        ).status_code
        == 403
    )
    assert client.post(f"/settings/members/{owner_membership.pk}/remove/").status_code == 403

    owner_membership.refresh_from_db()
    assert owner_membership.role == "owner"


@pytest.mark.django_db
def test_viewer_sees_members_but_no_management_buttons(org, owner):
    viewer = member(org, "viewer", "viewer@acme.test")
    body = client_for(viewer).get("/settings/members/").content.decode()
    assert "owner@acme.test" in body
    assert "Send invitation" not in body
    assert "Remove" not in body
    assert "/role/" not in body


@pytest.mark.django_db
def test_owner_sees_management_buttons(org, owner):
    member(org, "viewer", "viewer@acme.test")
    body = client_for(owner).get("/settings/members/").content.decode()
    assert "Send invitation" in body
    assert "Remove" in body


@pytest.mark.django_db
def test_admin_changes_a_role(org, owner):
    admin = member(org, "admin", "admin@acme.test")
    viewer = member(org, "viewer", "viewer@acme.test")
    m = Membership.objects.get(user=viewer)

    client_for(admin).post(f"/settings/members/{m.pk}/role/", {"role": "billing"})

    m.refresh_from_db()
    assert m.role == "billing"


@pytest.mark.django_db
def test_admin_cannot_make_owners_or_demote_them(org, owner):
    admin = member(org, "admin", "admin@acme.test")
    viewer = member(org, "viewer", "viewer@acme.test")
    client = client_for(admin)

    assert (
        client.post(
            f"/settings/members/{Membership.objects.get(user=viewer).pk}/role/", {"role": "owner"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/settings/members/{Membership.objects.get(user=owner).pk}/remove/"
        ).status_code
        == 403
    )
    assert Membership.objects.get(user=owner).role == "owner"
    assert Membership.objects.get(user=viewer).role == "viewer"


@pytest.mark.django_db
def test_last_owner_cannot_be_demoted_or_removed(org, owner):
    client = client_for(owner)
    m = Membership.objects.get(user=owner)

    response = client.post(f"/settings/members/{m.pk}/role/", {"role": "viewer"}, follow=True)
    assert "at least one owner" in response.content.decode()
    response = client.post(f"/settings/members/{m.pk}/remove/", follow=True)
    assert "at least one owner" in response.content.decode()

    m.refresh_from_db()
    assert m.role == "owner"


@pytest.mark.django_db
def test_owner_removes_a_member(org, owner):
    viewer = member(org, "viewer", "viewer@acme.test")
    m = Membership.objects.get(user=viewer)

    response = client_for(owner).post(f"/settings/members/{m.pk}/remove/", follow=True)

    assert "viewer@acme.test was removed" in response.content.decode()
    assert not Membership.objects.filter(pk=m.pk).exists()


@pytest.mark.django_db
def test_cannot_manage_members_of_another_organization(org, owner, other_org):
    stranger = member(other_org, "viewer", "s@globex.test")
    m = Membership.objects.get(user=stranger)

    response = client_for(owner).post(f"/settings/members/{m.pk}/remove/")

    assert response.status_code == 404
    assert Membership.objects.filter(pk=m.pk).exists()


@pytest.mark.django_db
def test_inviting_an_existing_member_gives_clear_error(org, owner):
    response = client_for(owner).post(
        "/settings/members/", {"email": "owner@acme.test", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_owner_cancels_pending_invitation(org, owner):
    invitation = Invitation.objects.create(organization=org, email="x@acme.test")
    client_for(owner).post(f"/settings/invitations/{invitation.pk}/revoke/")
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


@pytest.mark.django_db
def test_role_change_is_written_to_the_audit_log(org, owner):
    from cobro.models import AuditEntry
    from cobro.tenancy.context import use_organization

    viewer = member(org, "viewer", "viewer@acme.test")
    m = Membership.objects.get(user=viewer)
    client_for(owner).post(f"/settings/members/{m.pk}/role/", {"role": "admin"})

    with use_organization(org):
        entry = AuditEntry.objects.get(action="member.role_changed")
    assert entry.actor == owner
    assert entry.changes == {"role": ["viewer", "admin"]}
