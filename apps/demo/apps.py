from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data of `make run` (seed_demo). It sits on top of every other app, so it may use them all."""

    name = "apps.demo"
    label = "demo"
