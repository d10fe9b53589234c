"""The one signal of the design: an order event was committed. Receivers get `event_id`."""

from django.dispatch import Signal

order_event = Signal()
