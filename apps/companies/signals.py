"""What other apps may react to. companies is the lowest tenant layer, so the apps above it (oauth revokes a
deactivated company's tokens) connect receivers here instead of this app importing them.

Receivers run inside the sender's transaction and return how many objects they changed, which the sender
records in its audit event.
"""

from django.dispatch import Signal

# Sent with company=, actor= after a company is deactivated.
company_deactivated = Signal()

# Sent with company=, actor= after a company is created, inside the same transaction (agents publishes the
# server's default agents into it).
company_created = Signal()


def changed_count(responses: list[tuple[object, object]]) -> int:
    """The sum of the receivers' integer answers (objects each one changed)."""
    return sum(answer for _, answer in responses if isinstance(answer, int))
