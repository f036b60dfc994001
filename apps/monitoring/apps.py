from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Alert rules run as the chat and the scanners record their events, and as web logins fail.
        from django.contrib.auth.signals import user_login_failed

        from apps.chat.signals import exchange_recorded
        from apps.monitoring import receivers
        from apps.scanners.signals import hits_recorded

        exchange_recorded.connect(receivers.on_exchange_recorded, dispatch_uid="airisk.monitoring.exchange")
        hits_recorded.connect(receivers.on_hits_recorded, dispatch_uid="airisk.monitoring.hits")
        user_login_failed.connect(receivers.on_login_failed, dispatch_uid="airisk.monitoring.login_failed")
