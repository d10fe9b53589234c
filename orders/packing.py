"""The packing station (BOK – zamówienia > Pakowanie): scan an order number, then each item's EAN.

State lives in the user's session, so a reload keeps the count. Every code is checked on the server
(python-stdnum for EANs); the page only shows what the server says.
"""

from __future__ import annotations

from django.db.models import Q
from stdnum import ean as stdnum_ean

from . import services
from .models import ItemKind, Order

SESSION_KEY = "packing"


def _order_payload(order: Order, counts: dict) -> dict:
    return {
        "id": order.pk,
        "number": order.number,
        "external_id": order.external_id,
        "customer": order.customer_name,
        "items": [
            {
                "id": item.pk,
                "name": item.name,
                "ean": item.ean,
                "quantity": _pieces(item),
                "counted": counts.get(str(item.pk), 0),
            }
            for item in _scannable(order)
        ],
    }


def _scannable(order: Order):
    return [item for item in order.items.all() if item.kind == ItemKind.PRODUCT]


def _pieces(item) -> int:
    return max(int(item.quantity), 1)


def packing_state(session) -> dict | None:
    state = session.get(SESSION_KEY)
    if not state:
        return None
    order = Order.objects.filter(pk=state["order"]).prefetch_related("items").first()
    if order is None:
        session.pop(SESSION_KEY, None)
        return None
    return {"ok": True, "order": _order_payload(order, state["counts"])}


def packing_reset(session) -> None:
    session.pop(SESSION_KEY, None)


def packing_scan(session, code: str, actor=None) -> dict:
    """One scan. Returns {"ok": bool, "message": Polish text, "order": …, "done": bool}."""
    code = (code or "").strip()
    state = session.get(SESSION_KEY)
    if not code:
        return {"ok": False, "message": "Pusty kod."}
    if state is None:
        order = (
            Order.objects.filter(Q(number__iexact=code) | Q(external_id__iexact=code)).prefetch_related("items").first()
        )
        if order is None:
            return {"ok": False, "message": f"Nie znaleziono zamówienia „{code}”."}
        if order.events.filter(kind="packed").exists():
            return {"ok": False, "message": f"Zamówienie {order.number} jest już spakowane."}
        session[SESSION_KEY] = {"order": order.pk, "counts": {}}
        return {
            "ok": True,
            "message": f"Zamówienie {order.number}: skanuj produkty.",
            "order": _order_payload(order, {}),
        }
    order = Order.objects.prefetch_related("items").get(pk=state["order"])
    counts = state["counts"]
    if not stdnum_ean.is_valid(code):
        return {
            "ok": False,
            "message": f"„{code}” to nie jest prawidłowy kod EAN (zła cyfra kontrolna).",
            "order": _order_payload(order, counts),
        }
    item = next(
        (i for i in _scannable(order) if i.ean == stdnum_ean.compact(code) and counts.get(str(i.pk), 0) < _pieces(i)),
        None,
    )
    if item is None:
        matching = [i for i in _scannable(order) if i.ean == stdnum_ean.compact(code)]
        message = (
            f"Za dużo: „{matching[0].name}” ma już wszystkie sztuki ({_pieces(matching[0])})."
            if matching
            else f"Produktu o kodzie {code} nie ma w tym zamówieniu."
        )
        return {"ok": False, "message": message, "order": _order_payload(order, counts)}
    counts[str(item.pk)] = counts.get(str(item.pk), 0) + 1
    session[SESSION_KEY] = {"order": order.pk, "counts": counts}
    payload = _order_payload(order, counts)
    if all(row["counted"] >= row["quantity"] for row in payload["items"]):
        services.order_mark_packed(order=order, actor=actor, counts=counts)
        session.pop(SESSION_KEY, None)
        return {
            "ok": True,
            "done": True,
            "order": payload,
            "message": f"Zamówienie {order.number} spakowane. Zeskanuj następne zamówienie.",
        }
    return {"ok": True, "message": f"{item.name}: {counts[str(item.pk)]} z {_pieces(item)}.", "order": payload}
