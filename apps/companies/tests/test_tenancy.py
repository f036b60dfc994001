import pytest
from django.http import Http404

from apps.accounts.models import ApplicationUser, Group
from apps.accounts.selectors import get_group_for_company, get_user_for_company, group_list, user_list
from tests.factories import GroupFactory, UserFactory


def test_for_company_returns_only_that_companys_rows(company, other_company):
    own = UserFactory.create_batch(3, company=company)
    UserFactory.create_batch(2, company=other_company)
    GroupFactory(company=other_company)

    assert set(ApplicationUser.objects.for_company(company)) == set(own)
    assert list(Group.objects.for_company(company)) == []


def test_for_company_without_a_company_returns_nothing(company):
    UserFactory(company=company)

    assert ApplicationUser.objects.for_company(None).count() == 0


def test_selectors_are_scoped(company, other_company):
    mine = UserFactory(company=company)
    UserFactory(company=other_company)
    my_group = GroupFactory(company=company)
    GroupFactory(company=other_company)

    assert list(user_list(company=company)) == [mine]
    assert list(group_list(company=company)) == [my_group]


def test_lookup_by_public_id_is_404_for_another_companys_object(company, other_company):
    theirs = UserFactory(company=other_company)
    their_group = GroupFactory(company=other_company)

    with pytest.raises(Http404):
        get_user_for_company(company, theirs.userid)
    with pytest.raises(Http404):
        get_group_for_company(company, their_group.pk)
    assert get_user_for_company(other_company, theirs.userid) == theirs


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid", "1", None])
def test_lookup_by_unknown_or_malformed_id_is_404(company, bad_id):
    with pytest.raises(Http404):
        get_user_for_company(company, bad_id)
    with pytest.raises(Http404):
        get_group_for_company(company, bad_id)
