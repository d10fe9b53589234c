from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from apilo.errors import ApplicationError
from apilo.roles import AdminRequiredMixin, StaffRequiredMixin

from . import selectors, services
from .forms import BulkStatusForm, OrderForm, OrderItemFormSet, OrderStatusForm, StatusChangeForm
from .models import Order, OrderStatus
from .panels import render_order_panels

PAGE_SIZES = (50, 100, 200)


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


class OrderListView(StaffRequiredMixin, View):
    def get(self, request):
        filterset = selectors.order_list(request.GET)
        queryset = filterset.qs if filterset.is_valid() else Order.objects.none()
        # Tab counts follow every filter except the status itself.
        without_status = request.GET.copy()
        without_status.pop("status", None)
        without_status.pop("page", None)
        tab_filter = selectors.order_list(without_status)
        tabs, total = selectors.status_tab_counts(
            tab_filter.qs if tab_filter.is_valid() else Order.objects.none(),
            cache_key=without_status.urlencode() if tab_filter.is_valid() else "",
        )
        paginator = Paginator(queryset, _page_size(request))
        page = paginator.get_page(request.GET.get("page"))
        query_without_page = request.GET.copy()
        query_without_page.pop("page", None)
        return render(
            request,
            "orders/order_list.html",
            {
                "filter": filterset,
                "page": page,
                "tabs": tabs,
                "total_count": total,
                "current_status": request.GET.get("status", ""),
                "tab_query": without_status.urlencode(),
                "page_query": query_without_page.urlencode(),
                "bulk_form": BulkStatusForm(),
                "page_sizes": PAGE_SIZES,
                "per_page": _page_size(request),
            },
        )


class OrderBulkStatusView(StaffRequiredMixin, View):
    def post(self, request):
        form = BulkStatusForm(request.POST)
        back = reverse("orders:list") + ("?" + request.POST.get("query", "") if request.POST.get("query") else "")
        if not form.is_valid():
            for error in form.errors.get("__all__", []) + form.errors.get("status", []):
                messages.error(request, error)
            return redirect(back)
        data = form.cleaned_data
        if data["select_all"]:
            filterset = selectors.order_list(QueryDict(data["query"]))
            ids = list(filterset.qs.values_list("pk", flat=True)) if filterset.is_valid() else []
        else:
            ids = data["id_list"]
        try:
            result = services.order_bulk_set_status(order_ids=ids, status=data["status"], actor=request.user)
        except ApplicationError as err:
            messages.error(request, err.message)
            return redirect(back)
        if result["changed"]:
            messages.success(
                request,
                f"Zmieniono status {result['changed']} zamówień na „{data['status'].name}”"
                + (f"; {result['unchanged']} już miało ten status." if result["unchanged"] else "."),
            )
            return redirect("orders:bulk_progress", pk=result["bulk"])
        messages.success(
            request,
            f"Zmieniono status {result['changed']} zamówień na „{data['status'].name}”"
            + (f"; {result['unchanged']} już miało ten status." if result["unchanged"] else "."),
        )
        return redirect(back)


class OrderDetailView(StaffRequiredMixin, View):
    def get(self, request, pk):
        order = get_object_or_404(selectors.order_card_queryset(), pk=pk)
        return render(
            request,
            "orders/order_detail.html",
            {
                "order": order,
                "items": order.items.all(),
                "events": selectors.order_history(order)[:200],
                "status_form": StatusChangeForm(initial={"status": order.status_id}),
                "panels": render_order_panels(request, order),
            },
        )


class OrderStatusChangeView(StaffRequiredMixin, View):
    def post(self, request, pk):
        order = get_object_or_404(Order, pk=pk)
        form = StatusChangeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Wybierz prawidłowy, aktywny status.")
            return redirect("orders:detail", pk=pk)
        try:
            event = services.order_set_status(order=order, status=form.cleaned_data["status"], actor=request.user)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            if event is None:
                messages.info(request, "Zamówienie ma już ten status.")
            else:
                messages.success(request, f"Zmieniono status na „{event.to_status.name}”.")
        return redirect("orders:detail", pk=pk)


class OrderCreateView(StaffRequiredMixin, View):
    template_name = "orders/order_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": OrderForm(), "formset": OrderItemFormSet()})

    def post(self, request):
        form = OrderForm(request.POST)
        formset = OrderItemFormSet(request.POST)
        if form.is_valid() and formset.is_valid():
            items = [
                {k: v for k, v in f.cleaned_data.items() if k not in ("id", "order", "DELETE")}
                for f in formset.forms
                if f.cleaned_data
            ]
            try:
                order, created = services.order_create(fields=form.cleaned_data, items=items, actor=request.user)
            except ApplicationError as err:
                field = err.field if err.field in form.fields else None
                form.add_error(field, err.message)
            else:
                if created:
                    messages.success(request, f"Utworzono zamówienie {order.number}.")
                else:
                    messages.info(request, f"Zamówienie z tym numerem zewnętrznym już istnieje: {order.number}.")
                return redirect("orders:detail", pk=order.pk)
        return render(request, self.template_name, {"form": form, "formset": formset}, status=400)


# --- Administracja > Statusy zamówień --------------------------------------------------------------------


class StatusListView(AdminRequiredMixin, View):
    def get(self, request):
        return render(
            request,
            "orders/status_list.html",
            {
                "statuses": OrderStatus.objects.order_by("position", "id"),
                "form": OrderStatusForm(),
            },
        )

    def post(self, request):
        form = OrderStatusForm(request.POST)
        if form.is_valid():
            try:
                status = services.order_status_create(**form.cleaned_data)
            except ApplicationError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(request, f"Dodano status „{status.name}”.")
                return redirect("orders:status_list")
        return render(
            request,
            "orders/status_list.html",
            {
                "statuses": OrderStatus.objects.order_by("position", "id"),
                "form": form,
            },
            status=400,
        )


class StatusEditView(AdminRequiredMixin, View):
    def get(self, request, pk):
        status = get_object_or_404(OrderStatus, pk=pk)
        return render(request, "orders/status_form.html", {"status": status, "form": OrderStatusForm(instance=status)})

    def post(self, request, pk):
        status = get_object_or_404(OrderStatus, pk=pk)
        form = OrderStatusForm(request.POST, instance=OrderStatus.objects.get(pk=pk))
        if form.is_valid():
            try:
                services.order_status_update(status=status, **form.cleaned_data)
            except ApplicationError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(request, f"Zapisano status „{status.name}”.")
                return redirect("orders:status_list")
        return render(request, "orders/status_form.html", {"status": status, "form": form}, status=400)


class StatusDeleteView(AdminRequiredMixin, View):
    def get(self, request, pk):
        status = get_object_or_404(OrderStatus, pk=pk)
        return render(request, "orders/status_confirm_delete.html", {"status": status})

    def post(self, request, pk):
        status = get_object_or_404(OrderStatus, pk=pk)
        try:
            with transaction.atomic():
                services.order_status_delete(status=status)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, f"Usunięto status „{status.name}”.")
        return redirect("orders:status_list")


class StatusMoveView(AdminRequiredMixin, View):
    def post(self, request, pk):
        status = get_object_or_404(OrderStatus, pk=pk)
        services.order_status_move(status=status, direction=-1 if request.POST.get("direction") == "up" else 1)
        return redirect("orders:status_list")


class BulkProgressView(StaffRequiredMixin, View):
    """After a bulk status change: waiting / done / failed processing of its events; the page updates itself."""

    def get(self, request, pk):
        from .models import BulkStatusChange
        from .panels import bulk_progress

        bulk = get_object_or_404(BulkStatusChange.objects.select_related("status"), pk=pk)
        progress = bulk_progress(bulk.event_ids)
        if request.GET.get("format") == "json":
            from django.http import JsonResponse

            return JsonResponse({"total": len(bulk.event_ids), **progress})
        return render(
            request, "orders/bulk_progress.html", {"bulk": bulk, "progress": progress, "total": len(bulk.event_ids)}
        )


class PackingView(StaffRequiredMixin, View):
    """BOK – zamówienia > Pakowanie: a page for a USB barcode scanner (keyboard wedge) that also works by typing."""

    def get(self, request):
        from .packing import packing_state

        return render(request, "orders/packing.html", {"state": packing_state(request.session)})


class PackingScanView(StaffRequiredMixin, View):
    def post(self, request):
        from django.http import JsonResponse

        from .packing import packing_reset, packing_scan

        if request.POST.get("reset"):
            packing_reset(request.session)
            return JsonResponse({"ok": True, "message": "Przerwano pakowanie. Zeskanuj numer zamówienia."})
        return JsonResponse(packing_scan(request.session, request.POST.get("code", ""), actor=request.user))
