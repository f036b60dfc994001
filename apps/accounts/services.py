"""Writes of users and groups. Each runs in a transaction and leaves an audit event."""

from collections.abc import Iterable

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from apps.accounts.models import ApplicationUser, Group, Role
from apps.accounts.signals import user_deactivated
from apps.audit.models import Outcome
from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.companies.signals import changed_count


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


# --- Used by the web admin (and usable by the API): updates, activation, deletion, group membership. ---


def user_admin_guard(
    *,
    user: ApplicationUser,
    actor: Actor,
    roles: Iterable[str] | None = None,
    active: bool | None = None,
    deleting: bool = False,
) -> None:
    """Refuse a change that would take the admin role away from the acting admin, or leave the user's
    company without an active admin (nobody could then manage it). Raises ValidationError."""
    losing_admin = (roles is not None and Role.ADMIN not in set(roles)) or active is False or deleting
    if user.company_id is None or not (user.role_admin and user.is_active) or not losing_admin:
        return
    if roles is not None and Role.ADMIN not in set(roles) and actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError(
            "You cannot remove your own admin role. Ask another admin of your company to do it.",
            code="own_admin_role",
        )
    # Lock the company's admins so that two concurrent demotions cannot both pass the check.
    admins = list(
        ApplicationUser.objects.for_company(user.company)
        .filter(role_admin=True, is_active=True)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not set(admins) - {user.pk}:
        change = "be deleted" if deleting else "be deactivated" if active is False else "lose the admin role"
        raise ValidationError(
            f"{user.email} is the last active admin of {user.company.name} and cannot {change}. "
            "Make another user an admin first.",
            code="last_admin",
        )


@transaction.atomic
def user_update(
    *, user: ApplicationUser, actor: Actor, name: str | None = None, email: str | None = None
) -> ApplicationUser:
    changed = []
    if name is not None and name.strip() != user.name:
        user.name = name.strip()
        changed.append("name")
    if email is not None:
        email = ApplicationUser.objects.normalize_email(email.strip())
        if email.lower() != user.email.lower():
            validate_email(email)
            if ApplicationUser.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
                raise ValidationError(f"A user with the email {email} already exists.", code="duplicate_email")
        if email != user.email:
            user.email = email
            changed.append("email")
    if changed:
        user.full_clean()
        user.save(update_fields=changed)
        audit_event_record(
            action="user.updated",
            company=user.company,
            actor=actor,
            user=user,
            target=user,
            detail={"changed": changed},
        )
    return user


@transaction.atomic
def user_update_roles(*, user: ApplicationUser, roles: Iterable[str], actor: Actor) -> ApplicationUser:
    roles = _clean_roles(roles)
    before = user.roles
    if set(roles) == set(before):
        return user
    user_admin_guard(user=user, actor=actor, roles=roles)
    user.set_roles(roles)
    user.save(update_fields=[f"role_{role}" for role in Role.values])
    audit_event_record(
        action="user.roles_changed",
        company=user.company,
        actor=actor,
        user=user,
        target=user,
        detail={"before": before, "after": user.roles},
    )
    return user


@transaction.atomic
def user_set_active(*, user: ApplicationUser, active: bool, actor: Actor) -> ApplicationUser:
    """Activate or deactivate a user; deactivating revokes the user's outstanding tokens at once."""
    if user.is_active == active:
        return user
    user_admin_guard(user=user, actor=actor, active=active)
    user.is_active = active
    user.save(update_fields=["is_active"])
    revoked = 0
    if not active and user.company is not None:
        # oauth (a layer above) revokes the user's tokens through its receiver of this signal.
        revoked = changed_count(user_deactivated.send(ApplicationUser, user=user, actor=actor))
    audit_event_record(
        action="user.activated" if active else "user.deactivated",
        company=user.company,
        actor=actor,
        user=user,
        target=user,
        detail={"tokens_revoked": revoked},
    )
    return user


@transaction.atomic
def user_set_password(*, user: ApplicationUser, password: str, actor: Actor) -> ApplicationUser:
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_event_record(action="user.password_set", company=user.company, actor=actor, user=user, target=user)
    return user


@transaction.atomic
def user_delete(*, user: ApplicationUser, actor: Actor) -> None:
    """Delete a person. Their access tokens and codes go with them (cascade), so their tokens fail at once.

    A company must keep at least one active admin: deleting the last one is refused (code ``last_admin``).
    """
    user_admin_guard(user=user, actor=actor, deleting=True)
    audit_event_record(action="user.deleted", company=user.company, actor=actor, target=user)
    user.delete()


@transaction.atomic
def user_set_groups(*, user: ApplicationUser, groups: Iterable[Group], actor: Actor) -> ApplicationUser:
    """Make ``groups`` exactly the user's groups (all of the user's own company)."""
    wanted = {group.pk: group for group in groups}
    if any(group.company_id != user.company_id for group in wanted.values()):
        raise ValidationError("A user can only join groups of their own company.", code="company")
    current = {group.pk: group for group in user.groups.all()}
    for pk in wanted.keys() - current.keys():
        group_add_member(group=wanted[pk], user=user, actor=actor)
    for pk in current.keys() - wanted.keys():
        group_remove_member(group=current[pk], user=user, actor=actor)
    return user


@transaction.atomic
def group_rename(*, group: Group, name: str, actor: Actor) -> Group:
    name = (name or "").strip()
    if name == group.name:
        return group
    before = group.name
    group.name = name
    group.full_clean()
    group.save(update_fields=["name"])
    audit_event_record(
        action="group.renamed", company=group.company, actor=actor, target=group, detail={"before": before}
    )
    return group


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
def group_remove_member(*, group: Group, user: ApplicationUser, actor: Actor) -> None:
    if group.members.filter(pk=user.pk).exists():
        group.members.remove(user)
        audit_event_record(action="group.member_removed", company=group.company, actor=actor, user=user, target=group)


@transaction.atomic
def group_set_members(*, group: Group, users: Iterable[ApplicationUser], actor: Actor) -> Group:
    """Make ``users`` exactly the group's members (all of the group's own company)."""
    wanted = {user.pk: user for user in users}
    current = {user.pk: user for user in group.members.all()}
    for pk in wanted.keys() - current.keys():
        group_add_member(group=group, user=wanted[pk], actor=actor)
    for pk in current.keys() - wanted.keys():
        group_remove_member(group=group, user=current[pk], actor=actor)
    return group


# --- Logins to the web admin: audit events of logins, failures and logouts; unlocking; password links. ---

# How long one address's refused attempts during a lockout are summed into one audit event.
LOCKED_OUT_AUDIT_WINDOW_SECONDS = 60


def _user_agent_detail(user_agent: str) -> dict[str, str]:
    return {"user_agent": (user_agent or "")[:256]}


def login_record_success(*, user: ApplicationUser, actor: Actor, user_agent: str) -> None:
    audit_event_record(
        action="login.succeeded",
        company=user.company,
        actor=actor,
        user=user,
        target=user,
        detail=_user_agent_detail(user_agent),
    )


def logout_record(*, user: ApplicationUser, actor: Actor, user_agent: str) -> None:
    detail = _user_agent_detail(user_agent)
    audit_event_record(action="login.logout", company=user.company, actor=actor, user=user, target=user, detail=detail)


def login_record_failure(
    *, email: str, actor: Actor, user_agent: str, reason: str, refused_while_locked_out: bool = False
) -> None:
    """Record a failed login. The person is named only when the email is one of ours: what was typed into the
    email field of an unknown account (sometimes a password) never reaches the audit trail.

    While an account or address is locked out its attempts are refused without checking the password; only the
    first of each address per minute is recorded, so that a flood cannot flood the audit log (django-axes still
    counts every one: the Access attempts screen shows the total)."""
    if refused_while_locked_out and not cache.add(
        f"airisk:login-refused:{actor.ip}", 1, timeout=LOCKED_OUT_AUDIT_WINDOW_SECONDS
    ):
        return
    user = ApplicationUser.objects.filter(email__iexact=(email or "").strip()).select_related("company").first()
    audit_event_record(
        action="login.failed",
        company=user.company if user is not None else None,
        actor=actor,
        outcome=Outcome.FAILURE,
        user=user,
        target=user,
        detail={"reason": reason, **_user_agent_detail(user_agent)},
    )


@transaction.atomic
def login_lockout_reset(*, attempts: Iterable[AccessAttempt], actor: Actor) -> int:
    """Unlock the accounts and addresses of the given lockout records (django-axes' failed-attempt rows) by
    deleting them; one audit event per record. Returns how many were removed."""
    removed = 0
    for attempt in attempts:
        user = ApplicationUser.objects.filter(email__iexact=attempt.username or "").select_related("company").first()
        audit_event_record(
            action="login.unlocked",
            company=user.company if user is not None else None,
            actor=actor,
            user=user,
            detail={
                "username": (attempt.username or "")[:254],
                "ip": attempt.ip_address,
                "failures": attempt.failures_since_start,
            },
        )
        attempt.delete()
        removed += 1
    return removed


def user_password_link_send(*, user: ApplicationUser, actor: Actor, base_url: str, invitation: bool) -> None:
    """Email ``user`` a single-use link to set their password (an invitation, or a reset sent by an admin).

    The link is Django's password-reset link (valid PASSWORD_RESET_TIMEOUT seconds, dead once used because the
    password it sets changes the token's hash). Raises ValidationError for an inactive user; the token never
    enters the audit event."""
    if not user.is_active:
        raise ValidationError(f"{user.email} is inactive: activate the user before sending a link.", code="inactive")
    link = base_url.rstrip("/") + password_set_path(user)
    context = {
        "user": user,
        "link": link,
        "company": user.company,
        "invitation": invitation,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    subject = "".join(render_to_string("accounts/email/password_link_subject.txt", context).splitlines())
    body = render_to_string("accounts/email/password_link_body.txt", context)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()
    audit_event_record(
        action="user.invited" if invitation else "user.password_link_sent",
        company=user.company,
        actor=actor,
        user=user,
        target=user,
    )


def password_set_path(user: ApplicationUser) -> str:
    """The path of the set-your-password page for ``user`` with a fresh token. The link names the user by the
    public userid (base64), never by the integer primary key."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.userid))
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})


def user_for_password_link(uidb64: str) -> ApplicationUser | None:
    """The user a set-your-password link names, or None for a malformed or unknown one."""
    try:
        userid = urlsafe_base64_decode(uidb64).decode()
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    return ApplicationUser.objects.filter(userid=userid).first()
