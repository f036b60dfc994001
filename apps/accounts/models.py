"""People (ApplicationUser, the AUTH_USER_MODEL), their roles, and company groups."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.companies.models import Company, CompanyOwnedModel, CompanyQuerySet


class Role(models.TextChoices):
    ADMIN = "admin", "Company admin"
    MONITOR = "monitor", "Monitor"
    COMPLIANCE = "compliance", "Compliance"
    USER = "user", "User"


ROLE_FIELDS = {role: f"role_{role}" for role in Role.values}

# The apps whose admin screens a company admin may use (scoped to their company by the admin classes).
COMPANY_ADMIN_APP_LABELS = frozenset({"accounts", "oauth", "audit", "agents", "scanners"})


def new_userid() -> str:
    return str(uuid.uuid4())


class ApplicationUserQuerySet(CompanyQuerySet):
    def with_role(self, role: str) -> ApplicationUserQuerySet:
        return self.filter(**{ROLE_FIELDS[role]: True})


class ApplicationUserManager(BaseUserManager.from_queryset(ApplicationUserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> ApplicationUser:
        return self.get(email__iexact=email)

    def create_user(self, email: str, password: str | None = None, **fields) -> ApplicationUser:
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)  # None makes the password unusable
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> ApplicationUser:
        fields.setdefault("is_superuser", True)
        fields.setdefault("company", None)
        return self.create_user(email, password, **fields)


class ApplicationUser(AbstractBaseUser):
    """A person. ``userid`` is the public id (canonical UUID text); the integer pk never leaves the server."""

    userid = models.CharField(
        "user id",
        max_length=36,
        unique=True,
        default=new_userid,
        editable=False,
        help_text="Public identifier used by the API (the userid parameter).",
    )
    email = models.EmailField(
        max_length=254, unique=True, help_text="Login and contact address; unique, case-insensitive."
    )
    name = models.CharField("display name", max_length=150, blank=True)
    company = models.ForeignKey(
        Company,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
        help_text="The company this person belongs to. Only server admins have none.",
    )
    role_admin = models.BooleanField(
        "company admin", default=False, help_text="Full control of the company's users, groups, agents and settings."
    )
    role_monitor = models.BooleanField("monitor", default=False, help_text="Monitoring and reporting on activity.")
    role_compliance = models.BooleanField(
        "compliance", default=False, help_text="Compliance standards and auditing of user activity."
    )
    role_user = models.BooleanField("user", default=True, help_text="Chats with the agents granted to them.")
    is_active = models.BooleanField(
        "active", default=True, help_text="Inactive users cannot log in and their API tokens stop working."
    )
    is_superuser = models.BooleanField("server admin", default=False, help_text="Manages every company of this server.")
    created = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    objects = ApplicationUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "user"
        ordering = ["created", "userid"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]
        indexes = [models.Index(fields=["company", "created", "userid"], name="accounts_user_company_page")]

    def __str__(self) -> str:
        return self.email

    @property
    def roles(self) -> list[str]:
        return [role for role, field in ROLE_FIELDS.items() if getattr(self, field)]

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        for role, field in ROLE_FIELDS.items():
            setattr(self, field, role in wanted)

    def has_role(self, role: str) -> bool:
        return bool(getattr(self, ROLE_FIELDS[role]))

    @property
    def is_company_admin(self) -> bool:
        # The admin of a deactivated company loses the portal with its clients and tokens.
        return self.company_id is not None and self.role_admin and self.company.is_active

    # The Django admin lets in "staff": server admins and company admins.
    @property
    def is_staff(self) -> bool:
        return self.is_active and (self.is_superuser or self.is_company_admin)

    def has_perm(self, perm: str, obj=None) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return self.is_company_admin and perm.split(".", 1)[0] in COMPANY_ADMIN_APP_LABELS

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        if not self.is_active:
            return False
        return self.is_superuser or (self.is_company_admin and app_label in COMPANY_ADMIN_APP_LABELS)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


class Group(CompanyOwnedModel):
    name = models.CharField(max_length=150, help_text="Unique within the company.")
    members = models.ManyToManyField(ApplicationUser, related_name="groups", blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="accounts_group_name_per_company")]

    def __str__(self) -> str:
        return self.name
