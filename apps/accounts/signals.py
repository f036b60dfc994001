"""What other apps may react to. oauth sits above accounts and revokes a deactivated user's tokens by
connecting a receiver here (accounts never imports oauth). Receivers return how many objects they changed."""

from django.dispatch import Signal

# Sent with user=, actor= after a user is deactivated, inside the same transaction.
user_deactivated = Signal()
