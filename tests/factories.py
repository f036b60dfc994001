"""factory-boy factories for the core models. Tests use these instead of ``objects.create``."""

import factory

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent, AgentTemplate
from apps.companies.models import Company
from apps.oauth import crypto
from apps.oauth.models import APIUser

DEFAULT_PASSWORD = "factory-password-1234"


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApplicationUser
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    company = factory.SubFactory(CompanyFactory)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted is not None:
            self.set_roles(extracted)
        if create:
            self.save()


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Group {n}")
    company = factory.SubFactory(CompanyFactory)


class APIUserFactory(factory.django.DjangoModelFactory):
    """An API client. Its plain secret stays on the instance as ``plain_secret`` for the test to use."""

    class Meta:
        model = APIUser

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Integration {n}")
    client_id = factory.LazyFunction(crypto.new_client_id)
    plain_secret = factory.LazyFunction(crypto.new_secret)
    secret_hash = factory.LazyAttribute(lambda o: crypto.hash_secret(o.plain_secret))
    redirect_uris = "https://localhost/callback"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        plain_secret = kwargs.pop("plain_secret")
        client = super()._create(model_class, *args, **kwargs)
        client.plain_secret = plain_secret
        return client


class AgentFactory(factory.django.DjangoModelFactory):
    """An OpenAI agent with a key of its own (point ``base_url`` at a fake server to talk to it)."""

    class Meta:
        model = Agent

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    engine = "openai"
    model = "gpt-4o-mini"
    api_key = "sk-factory-key-0123456789abcdef"
    instructions = "You are a careful assistant."


class AgentTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    engine = "openai"
    model = "gpt-4o-mini"
    instructions = "You help with policies."
