from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """AI agents: their engine settings and encrypted provider keys, files, grants, defaults and templates."""

    name = "apps.agents"
    verbose_name = "AI agents"

    def ready(self) -> None:
        from apps.agents import receivers  # noqa: F401  (connects the receivers of the lower apps' signals)
