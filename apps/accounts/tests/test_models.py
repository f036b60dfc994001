import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import ApplicationUser, Group
from tests.factories import CompanyFactory, GroupFactory, UserFactory


def test_userid_is_a_canonical_uuid_string_not_the_pk(company):
    user = UserFactory(company=company)

    assert isinstance(user.userid, str)
    assert str(uuid.UUID(user.userid)) == user.userid
    assert user.userid != str(user.pk)


def test_userids_are_unique(company):
    users = UserFactory.create_batch(20, company=company)

    assert len({u.userid for u in users}) == 20


def test_userid_uniqueness_is_enforced_by_the_database(company):
    first = UserFactory(company=company)
    second = UserFactory(company=company)
    second.userid = first.userid

    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_email_uniqueness_ignores_case(company):
    UserFactory(company=company, email="Alice@Example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(company=company, email="alice@example.COM")


def test_email_case_insensitive_uniqueness_is_validated(company):
    UserFactory(company=company, email="bob@example.com")
    duplicate = ApplicationUser(company=company, email="BOB@example.com")

    with pytest.raises(ValidationError):
        duplicate.validate_constraints()


def test_login_email_lookup_ignores_case(company):
    user = UserFactory(company=company, email="carol@example.com")

    assert ApplicationUser.objects.get_by_natural_key("CAROL@EXAMPLE.COM") == user


def test_group_name_is_unique_per_company(db):
    company = CompanyFactory()
    GroupFactory(company=company, name="Sales")

    with pytest.raises(IntegrityError), transaction.atomic():
        GroupFactory(company=company, name="Sales")


def test_group_name_may_repeat_across_companies(db):
    first = GroupFactory(company=CompanyFactory(), name="Sales")
    second = GroupFactory(company=CompanyFactory(), name="Sales")

    assert first.pk != second.pk
    assert Group.objects.filter(name="Sales").count() == 2


def test_roles_round_trip_in_canonical_order(company):
    user = UserFactory(company=company, roles=["user", "compliance", "admin"])
    user.refresh_from_db()

    assert user.roles == ["admin", "compliance", "user"]
    assert list(ApplicationUser.objects.with_role("compliance")) == [user]


def test_only_active_company_admins_and_server_admins_are_staff(company):
    admin = UserFactory(company=company, roles=["admin"])
    plain = UserFactory(company=company, roles=["user", "monitor", "compliance"])
    inactive_admin = UserFactory(company=company, roles=["admin"], is_active=False)
    server_admin = UserFactory(company=None, is_superuser=True, roles=[])

    assert admin.is_staff and server_admin.is_staff
    assert not plain.is_staff and not inactive_admin.is_staff
