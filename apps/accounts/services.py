"""Writes of users and groups. Each runs in a transaction and leaves an audit event."""

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from apps.accounts.models import ApplicationUser, Group, Role
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company


def _clean_roles(roles: Iterable[str] | None) -> list[str]:
    roles = list(roles) if roles is not None else [Role.USER]
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValidationError(
            f"Unknown role(s): {', '.join(unknown)}. Valid roles: {', '.join(Role.values)}.", code="role"
        )
    return roles


def _clean_email(email: str) -> str:
    email = ApplicationUser.objects.normalize_email((email or "").strip())
    validate_email(email)
    if ApplicationUser.objects.filter(email__iexact=email).exists():
        raise ValidationError(f"A user with the email {email} already exists.", code="duplicate_email")
    return email


@transaction.atomic
def user_create(
    *,
    company: Company,
    email: str,
    actor: Actor,
    name: str = "",
    roles: Iterable[str] | None = None,
    password: str | None = None,
    groups: Iterable[Group] = (),
) -> ApplicationUser:
    email = _clean_email(email)
    user = ApplicationUser(company=company, email=email, name=(name or "").strip())
    user.set_roles(_clean_roles(roles))
    if password:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Two requests raced past the uniqueness check with the same address.
        raise ValidationError(f"A user with the email {email} already exists.", code="duplicate_email") from None
    audit_event_record(action="user.created", company=company, actor=actor, user=user, target=user)
    for group in groups:
        group_add_member(group=group, user=user, actor=actor)
    return user


@transaction.atomic
def server_admin_create(*, email: str, password: str, actor: Actor) -> ApplicationUser:
    email = _clean_email(email)
    user = ApplicationUser(email=email, company=None, is_superuser=True)
    user.set_roles([])
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_event_record(action="server_admin.created", company=None, actor=actor, user=user, target=user)
    return user


@transaction.atomic
def group_create(*, company: Company, name: str, actor: Actor) -> Group:
    group = Group(company=company, name=(name or "").strip())
    if Group.objects.for_company(company).filter(name=group.name).exists():
        raise ValidationError(f"A group named {group.name} already exists.", code="duplicate_name")
    group.full_clean()
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise ValidationError(f"A group named {group.name} already exists.", code="duplicate_name") from None
    audit_event_record(action="group.created", company=company, actor=actor, target=group)
    return group


@transaction.atomic
def group_add_member(*, group: Group, user: ApplicationUser, actor: Actor) -> None:
    if user.company_id != group.company_id:
        raise ValidationError("A user can only join a group of their own company.")
    if not group.members.filter(pk=user.pk).exists():
        group.members.add(user)
        audit_event_record(action="group.member_added", company=group.company, actor=actor, user=user, target=group)


@transaction.atomic
def group_remove_member(*, group: Group, user: ApplicationUser, actor: Actor) -> None:
    if group.members.filter(pk=user.pk).exists():
        group.members.remove(user)
        audit_event_record(action="group.member_removed", company=group.company, actor=actor, user=user, target=group)


@transaction.atomic
def group_delete(*, group: Group, actor: Actor) -> None:
    audit_event_record(
        action="group.deleted",
        company=group.company,
        actor=actor,
        target=group,
        detail={"members": group.members.count()},
    )
    group.delete()


@transaction.atomic
def user_delete(*, user: ApplicationUser, actor: Actor) -> None:
    """Delete a person. Their access tokens and codes go with them (cascade), so their tokens fail at once.

    A company must keep at least one active admin: deleting the last one is refused (code ``last_admin``).
    """
    if user.company_id is not None and user.role_admin:
        # Lock the company's admin rows so that two concurrent deletions cannot both see "another admin left".
        admins = list(
            ApplicationUser.objects.select_for_update()
            .filter(company_id=user.company_id, role_admin=True, is_active=True)
            .values_list("pk", flat=True)
        )
        if not [pk for pk in admins if pk != user.pk]:
            raise ValidationError("A company must keep at least one active admin.", code="last_admin")
    audit_event_record(action="user.deleted", company=user.company, actor=actor, target=user)
    user.delete()
