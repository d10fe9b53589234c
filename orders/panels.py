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


# What happened after a bulk status change (e.g. automatic tasks): `progress(event_ids) -> dict` with the keys
# "waiting", "done", "failed"; registered by the app that processes events.
BULK_PROGRESS: list[Callable] = []


def register_bulk_progress(progress: Callable) -> Callable:
    if progress not in BULK_PROGRESS:
        BULK_PROGRESS.append(progress)
    return progress


def bulk_progress(event_ids: list[int]) -> dict:
    totals = {"waiting": 0, "done": len(event_ids), "failed": 0}
    for progress in BULK_PROGRESS:
        totals = progress(event_ids)
    return totals
