from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apilo.errors import ApplicationError
from apilo.roles import AdminRequiredMixin

from . import services
from .forms import PrinterForm
from .models import Printer, PrintJob


class DeviceListView(AdminRequiredMixin, View):
    def get(self, request):
        from .models import PrintNodeAccount

        jobs = Paginator(PrintJob.objects.select_related("printer"), 50).get_page(request.GET.get("page"))
        return render(
            request,
            "devices/device_list.html",
            {
                "printers": Printer.objects.all(),
                "jobs": jobs,
                "page": jobs,
                "page_query": "",
                "printnode": PrintNodeAccount.objects.first(),
                "printnode_printers": Printer.objects.filter(kind="printnode"),
                "printnode_default_url": settings.PRINTNODE_API_URL,
            },
        )


class PrintNodeView(AdminRequiredMixin, View):
    """PrintNode's API key (stored encrypted) and the default label and document printers."""

    def post(self, request):
        from .models import PrintNodeAccount

        try:
            account = services.printnode_connect(
                api_key=request.POST.get("api_key", ""),
                base_url=request.POST.get("base_url"),
                account=PrintNodeAccount.objects.first(),
            )
        except ApplicationError as err:
            messages.error(request, err.message)
            return redirect("devices:list")
        for field in ("default_label_printer", "default_document_printer"):
            value = request.POST.get(field)
            setattr(account, f"{field}_id", int(value) if value and value.isdigit() else None)
        account.save()
        if account.state == "ok":
            messages.success(request, f"PrintNode połączony: {len(account.printers)} drukarek.")
        else:
            messages.error(request, f"PrintNode: {account.last_error}")
        return redirect("devices:list")


class PrinterFormView(AdminRequiredMixin, View):
    def get(self, request, pk=None):
        printer = get_object_or_404(Printer, pk=pk) if pk else None
        form = PrinterForm(initial=PrinterForm.initial_from(printer) if printer else {})
        return render(request, "devices/printer_form.html", {"form": form, "printer": printer})

    def post(self, request, pk=None):
        printer = get_object_or_404(Printer, pk=pk) if pk else None
        form = PrinterForm(request.POST)
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in ("kind", "name", "connection", "active", "dedicated_queue")}
            try:
                printer = services.printer_save(data={**data, "settings": form.settings()}, printer=printer)
            except ApplicationError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(request, f"Zapisano drukarkę „{printer.name}”.")
                return redirect("devices:list")
        return render(request, "devices/printer_form.html", {"form": form, "printer": printer}, status=400)


class PrinterTestView(AdminRequiredMixin, View):
    def post(self, request, pk):
        try:
            printer = services.printer_test(printer=get_object_or_404(Printer, pk=pk))
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            if printer.last_status == "OK":
                messages.success(
                    request,
                    f"„{printer.name}” odpowiada. Stawki VAT drukarki: "
                    + ", ".join(f"{rate} → slot {slot}" for rate, slot in printer.vat_slots.items()),
                )
            else:
                messages.error(request, f"„{printer.name}”: {printer.last_status}")
        return redirect("devices:list")


class PrintJobRetryView(AdminRequiredMixin, View):
    """Ponów: a failed job, or one needing attention after a person checked the printout, goes back to the queue.
    A printed job is never printed again (the transition table refuses it)."""

    def post(self, request, pk):
        job = get_object_or_404(PrintJob, pk=pk)
        try:
            services.print_job_retry(job=job)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, f"Zlecenie {job.idempotency_key} wróciło do kolejki.")
        return redirect("devices:list")
