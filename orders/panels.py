"""Extension point of the order card: other apps (documents, automation, devices) register panels here in their
AppConfig.ready(), so `orders` shows them without importing those apps."""

from collections.abc import Callable

ORDER_CARD_PANELS: list[Callable] = []


def register_order_panel(render: Callable) -> Callable:
    """`render(request, order) -> str` (safe HTML). Registered once per callable."""
    if render not in ORDER_CARD_PANELS:
        ORDER_CARD_PANELS.append(render)
    return render


def render_order_panels(request, order) -> list[str]:
    return [render(request, order) for render in ORDER_CARD_PANELS]
