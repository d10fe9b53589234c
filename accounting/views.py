import io
import uuid
import zipfile
from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views import View

from apilo.csv_export import safe_writer
from apilo.errors import ApplicationError
from apilo.mixins import TypedErrorsMixin
from apilo.roles import AdminRequiredMixin, StaffRequiredMixin, is_staff_role
from devices.models import PrintJob
from orders.models import Order

from . import numbering, selectors, services
from .forms import CancelForm, CorrectionForm, IssueForm, SeriesForm, SeriesIntegrationForm, SetupForm
from .models import Document, DocumentKind, DocumentSeries
from .nbp import RateUnavailable

PAGE_SIZES = (50, 100, 200)


# --- Administracja > Księgowość konfiguracja ---------------------------------------------------------------


class SeriesListView(AdminRequiredMixin, TypedErrorsMixin, View):
    def get(self, request):
        series = DocumentSeries.objects.order_by("kind", "name")
        return render(
            request,
            "accounting/series_list.html",
            {
                "series_list": series,
                "setup_form": None if series.exists() else SetupForm(),
                "kinds": DocumentKind.choices,
            },
        )


class SeriesSetupView(AdminRequiredMixin, TypedErrorsMixin, View):
    def post(self, request):
        form = SetupForm(request.POST)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items()}
            try:
                services.series_setup_defaults(seller=data)
            except ApplicationError as err:
                self.form_error(form, err)
            else:
                messages.success(request, "Utworzono domyślne serie: faktura, korekta, paragon i pro forma.")
                return redirect("accounting:series_list")
        return render(
            request,
            "accounting/series_list.html",
            {
                "series_list": DocumentSeries.objects.none(),
                "setup_form": form,
                "kinds": DocumentKind.choices,
            },
            status=400,
        )


class SeriesFormView(AdminRequiredMixin, TypedErrorsMixin, View):
    template_name = "accounting/series_form.html"

    def _context(self, form, series, kind, mismatches=()):
        return {
            "form": form,
            "series": series,
            "kind": kind,
            "kind_label": DocumentKind(kind).label,
            "mismatches": mismatches,
        }

    def get(self, request, pk=None):
        if pk:
            series = get_object_or_404(DocumentSeries, pk=pk)
            return render(
                request, self.template_name, self._context(SeriesIntegrationForm(instance=series), series, series.kind)
            )
        kind = request.GET.get("kind", DocumentKind.INVOICE)
        if kind not in DocumentKind.values:
            kind = DocumentKind.INVOICE
        template = DocumentSeries.objects.filter(is_default=True).first()
        initial = {"number_format": "", "reset": "monthly", "payment_term_days": 7, "active": True}
        if template:  # a new series starts with the seller and bank data already used
            initial.update({f: getattr(template, f) for f in SetupForm.Meta.fields})
        return render(request, self.template_name, self._context(SeriesForm(initial=initial, kind=kind), None, kind))

    def post(self, request, pk=None):
        series = get_object_or_404(DocumentSeries, pk=pk) if pk else None
        kind = series.kind if series else request.POST.get("kind", DocumentKind.INVOICE)
        if kind not in DocumentKind.values:
            kind = DocumentKind.INVOICE
        form_class = SeriesIntegrationForm if series else SeriesForm
        instance = DocumentSeries.objects.get(pk=series.pk) if series else DocumentSeries(kind=kind)
        form = form_class(request.POST, instance=instance, kind=kind)
        mismatches = []
        if form.is_valid():
            data = {f: form.cleaned_data[f] for f in form_class.Meta.fields}
            data["kind"] = kind
            integration = data.get("integration")
            if integration is not None:
                mismatches = services.series_account_mismatches(series_data=data, integration=integration)
            if mismatches and not form.cleaned_data.get("confirm_mismatch"):
                form.add_error(
                    None,
                    "Dane serii różnią się od danych w serwisie księgowym — popraw je albo "
                    "zaznacz „Zapisz mimo różnic”.",
                )
            else:
                try:
                    saved = services.series_save(data=data, series=series)
                except ApplicationError as err:
                    self.form_error(form, err)
                else:
                    messages.success(request, f"Zapisano serię „{saved.name}”.")
                    return redirect("accounting:series_list")
        return render(request, self.template_name, self._context(form, series, kind, mismatches), status=400)


class SeriesDeleteView(AdminRequiredMixin, TypedErrorsMixin, View):
    def get(self, request, pk):
        series = get_object_or_404(DocumentSeries, pk=pk)
        return render(request, "accounting/series_confirm_delete.html", {"series": series})

    def post(self, request, pk):
        series = get_object_or_404(DocumentSeries, pk=pk)
        try:
            services.series_delete(series=series)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, f"Usunięto serię „{series.name}”.")
        return redirect("accounting:series_list")


class NumberPreviewView(AdminRequiredMixin, TypedErrorsMixin, View):
    """Live preview of the next number while the series form is edited."""

    def get(self, request):
        number_format = request.GET.get("number_format", "")
        reset = request.GET.get("reset", "monthly")
        problems = numbering.format_problems(number_format, reset)
        if problems:
            return JsonResponse({"ok": False, "message": problems[0]})
        try:
            start = max(int(request.GET.get("start_number") or 1), 1)
        except ValueError:
            start = 1
        today = timezone.localdate()
        series = DocumentSeries.objects.filter(pk=request.GET.get("series") or None).first()
        next_seq = start
        if series is not None:
            period = numbering.period_of(reset, today)
            last = series.counters.filter(period=period).values_list("last", flat=True).first() or 0
            next_seq = max(last + 1, start)
        return JsonResponse({"ok": True, "number": numbering.render_number(number_format, next_seq, today)})


# --- Issuing from the order card -------------------------------------------------------------------------


def order_documents_panel(request, order) -> str:
    """The order card's Dokument menu and its documents (registered in AccountingConfig.ready)."""
    if not is_staff_role(request.user):
        return ""
    series = DocumentSeries.objects.filter(active=True).exclude(kind=DocumentKind.CORRECTION).order_by("kind", "name")
    by_kind = {}
    for item in series:
        by_kind.setdefault(item.get_kind_display(), []).append(item)
    return render_to_string(
        "accounting/order_panel.html",
        {
            "order": order,
            "series_by_kind": by_kind.items(),
            "documents": selectors.documents_for_order(order.pk),
            **_default_sale_date(order),
        },
        request=request,
    )


def _default_sale_date(order) -> dict:
    from .services import rules

    today = timezone.localdate()
    value = rules.default_sale_date(order, today)
    if rules.order_shipped_on(order) == value:
        source = "wysyłka zamówienia"
    elif value != today:
        source = "data zapłaty"
    else:
        source = "data wystawienia"
    return {"default_sale_date": value, "default_sale_date_source": source}


class DocumentIssueView(StaffRequiredMixin, TypedErrorsMixin, View):
    def post(self, request, order_pk):
        order = get_object_or_404(Order, pk=order_pk)
        form = IssueForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
            return redirect("orders:detail", pk=order.pk)
        data = form.cleaned_data
        try:
            document = services.document_issue(
                order=order,
                series=data["series"],
                actor=request.user,
                additional=data["additional"],
                as_consumer=data["as_consumer"],
                sale_date=data["sale_date"],
                exchange_rate=data["exchange_rate"],
                exchange_rate_table=data["exchange_rate_table"],
                exchange_rate_date=data["exchange_rate_date"],
            )
        except services.DocumentAlreadyIssued as err:
            messages.info(request, err.message + " Otwarto istniejący dokument.")
            return redirect(
                f"{reverse('accounting:document_detail', args=[err.document.pk])}?order_series={data['series'].pk}"
            )
        except ApplicationError as err:
            return render(
                request,
                "accounting/issue_problem.html",
                {
                    "order": order,
                    "series": data["series"],
                    "error": err.message,
                    "needs_rate": isinstance(err, RateUnavailable)
                    or err.field in ("exchange_rate", "exchange_rate_table", "exchange_rate_date"),
                    "offer_consumer": err.field == "invoice_nip",
                    "sale_date": data["sale_date"],
                },
                status=400,
            )
        for warning in getattr(document, "warnings", []):
            messages.warning(request, warning)
        document.refresh_from_db()  # without a broker the sync has already run after commit
        if document.state == "issuing":
            messages.info(request, "Dokument zapisany i wysłany do serwisu księgowego — numer pojawi się za chwilę.")
        else:
            messages.success(request, f"Wystawiono dokument {document.number}.")
        return redirect("accounting:document_detail", pk=document.pk)


# --- Księgowość > Dokumenty ----------------------------------------------------------------------------------


def _page_size(request):
    try:
        size = int(request.GET.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        size = PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


class DocumentListView(StaffRequiredMixin, TypedErrorsMixin, View):
    def get(self, request):
        filterset = selectors.document_list(request.GET)
        queryset = filterset.qs if filterset.is_valid() else Document.objects.none()
        paginator = Paginator(queryset, _page_size(request))
        page = paginator.get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "accounting/document_list.html",
            {
                "filter": filterset,
                "page": page,
                "page_query": query.urlencode(),
                "page_sizes": PAGE_SIZES,
                "per_page": _page_size(request),
            },
        )


class DocumentDetailView(StaffRequiredMixin, TypedErrorsMixin, View):
    def get(self, request, pk):
        document = get_object_or_404(Document.objects.select_related("series", "order", "corrected_document"), pk=pk)
        return render(
            request,
            "accounting/document_detail.html",
            {
                **selectors.document_context(document),
                "corrections": document.corrections.order_by("id"),
                "delivery_reasons": services.document_delivery_reasons(document),
                "offer_additional": request.GET.get("order_series"),
                # one token per rendered form: a double click sends one e-mail
                "send_token": uuid.uuid4().hex,
                "print_job": PrintJob.objects.filter(idempotency_key=f"receipt-document-{document.pk}")
                .select_related("printer")
                .first(),
            },
        )


class DocumentErrorsMixin(TypedErrorsMixin):
    """A refusal on a document's action is shown on the document's page."""

    def get_error_url(self):
        return reverse("accounting:document_detail", args=[self.kwargs["pk"]])


class DocumentStateView(StaffRequiredMixin, TypedErrorsMixin, View):
    """What the preview polls while an accounting service is numbering the document."""

    def get(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        return JsonResponse(
            {
                "state": document.state,
                "number": document.number,
                "sync_state": document.sync_state,
                "error": document.sync_last_error,
            }
        )


class DocumentRetrySyncView(StaffRequiredMixin, DocumentErrorsMixin, View):
    def post(self, request, pk):
        from .sync import document_sync_retry

        document = document_sync_retry(document=get_object_or_404(Document, pk=pk))
        messages.info(request, "Ponowiono wysyłanie dokumentu do serwisu księgowego.")
        return redirect("accounting:document_detail", pk=document.pk)


class DocumentPdfView(StaffRequiredMixin, DocumentErrorsMixin, View):
    def get(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        if document.state in ("issuing", "failed") and not document.pdf:
            messages.error(request, "PDF będzie dostępny, gdy serwis księgowy nada dokumentowi numer.")
            return redirect("accounting:document_detail", pk=pk)
        content = services.document_pdf(document=document)
        response = HttpResponse(content, content_type="application/pdf")
        filename = f"{document.number.replace('/', '_')}.pdf"
        disposition = "inline" if request.GET.get("inline") else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
        return response


def _xml_filename(document) -> str:
    return f"{document.number.replace('/', '_')}.xml"


class DocumentKsefView(StaffRequiredMixin, DocumentErrorsMixin, View):
    """Pobierz XML (KSeF): the FA(3) file, only when it passes the schema and the arithmetic checks."""

    def get(self, request, pk):
        from .ksef import KsefInvalid, document_ksef_xml

        document = get_object_or_404(Document.objects.select_related("order", "corrected_document"), pk=pk)
        try:
            xml = document_ksef_xml(document)
        except KsefInvalid as err:
            messages.error(
                request, f"Plik KSeF nie został wygenerowany — {len(err.issues)} błędów walidacji (szczegóły poniżej)."
            )
            return redirect("accounting:document_detail", pk=pk)
        response = HttpResponse(xml, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{_xml_filename(document)}"'
        return response


class DocumentKsefZipView(StaffRequiredMixin, TypedErrorsMixin, View):
    """FA(3) XML of a selection in one ZIP; documents that fail validation are listed in BLEDY.txt, not exported."""

    def post(self, request):
        from .ksef import KsefInvalid, document_ksef_xml

        documents = list(
            _selected_documents(request)
            .filter(kind__in=["invoice", "correction"])
            .exclude(number="")
            .select_related("order", "corrected_document")
            .order_by("issue_date", "id")[: MAX_ZIP_DOCUMENTS + 1]
        )
        if not documents:
            messages.error(request, "Zaznacz co najmniej jedną fakturę lub korektę.")
            return redirect("accounting:document_list")
        if len(documents) > MAX_ZIP_DOCUMENTS:
            messages.error(request, f"Za dużo dokumentów naraz (limit {MAX_ZIP_DOCUMENTS}). Zawęź filtr.")
            return redirect("accounting:document_list")
        buffer, failures = io.BytesIO(), []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for document in documents:
                try:
                    archive.writestr(_xml_filename(document), document_ksef_xml(document))
                except KsefInvalid as err:
                    failures.append(f"{document.number}: " + "; ".join(f"{i.element}: {i.reason}" for i in err.issues))
            if failures:
                archive.writestr("BLEDY.txt", "Nie wyeksportowano (błędy walidacji):\n" + "\n".join(failures) + "\n")
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="ksef-{date.today():%Y%m%d}.zip"'
        return response


class DocumentCancelView(StaffRequiredMixin, DocumentErrorsMixin, View):
    def get(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        return render(request, "accounting/document_cancel.html", {"document": document, "form": CancelForm()})

    def post(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                services.document_cancel(document=document, reason=form.cleaned_data["reason"], actor=request.user)
            except ApplicationError as err:
                self.form_error(form, err)
            else:
                messages.success(request, f"Anulowano dokument {document.number}. Numer pozostaje wykorzystany.")
                return redirect("accounting:document_detail", pk=document.pk)
        return render(request, "accounting/document_cancel.html", {"document": document, "form": form}, status=400)


class DocumentCorrectView(StaffRequiredMixin, TypedErrorsMixin, View):
    """Koryguj: always the invoice's current state (after every live correction), whichever document of the chain
    it was opened from."""

    def _lines(self, document):
        return [line for _, line in sorted(services.document_chain_current_lines(document).items())]

    def _context(self, document, form):
        return {"document": document, "form": form, "head": services.document_chain_head(document)}

    def get_error_url(self):
        return reverse("accounting:document_detail", args=[self.kwargs["pk"]])

    def get(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        form = CorrectionForm(lines=self._lines(document))
        return render(request, "accounting/document_correct.html", self._context(document, form))

    def post(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        lines = self._lines(document)
        form = CorrectionForm(request.POST, lines=lines)
        if form.is_valid():
            data = form.cleaned_data
            changes = [
                services.LineChange(
                    position=line.position,
                    quantity=data[f"qty_{line.position}"],
                    unit_price_gross=data[f"price_{line.position}"],
                    remove=data[f"remove_{line.position}"],
                )
                for line in lines
            ]
            try:
                correction = services.document_correct(
                    document=document,
                    changes=changes,
                    reason=data["reason"],
                    actor=request.user,
                    series=data["series"],
                    full_return=data["full_return"],
                    reason_code=data["reason_code"],
                )
            except ApplicationError as err:
                self.form_error(form, err)
            else:
                messages.success(request, f"Wystawiono korektę {correction.display_number}.")
                return redirect("accounting:document_detail", pk=correction.pk)
        return render(request, "accounting/document_correct.html", self._context(document, form), status=400)


def _selected_documents(request):
    if request.POST.get("select_all"):
        filterset = selectors.document_list(QueryDict(request.POST.get("query", "")))
        return filterset.qs if filterset.is_valid() else Document.objects.none()
    ids = [int(x) for x in request.POST.get("ids", "").split(",") if x.strip().isdigit()]
    return Document.objects.filter(pk__in=ids)


MAX_ZIP_DOCUMENTS = 2000


class DocumentZipView(StaffRequiredMixin, TypedErrorsMixin, View):
    """PDFs of the selected documents in one ZIP (each PDF rendered once and stored)."""

    def post(self, request):
        documents = list(_selected_documents(request).order_by("issue_date", "id")[: MAX_ZIP_DOCUMENTS + 1])
        if not documents:
            messages.error(request, "Zaznacz co najmniej jeden dokument.")
            return redirect("accounting:document_list")
        if len(documents) > MAX_ZIP_DOCUMENTS:
            messages.error(request, f"Za dużo dokumentów naraz (limit {MAX_ZIP_DOCUMENTS}). Zawęź filtr.")
            return redirect("accounting:document_list")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for document in documents:
                archive.writestr(f"{document.number.replace('/', '_')}.pdf", services.document_pdf(document=document))
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="dokumenty-{date.today():%Y%m%d}.zip"'
        return response


REGISTER_RATES = ["23", "8", "5", "0", "zw", "np", "oo"]


class DocumentRegisterView(StaffRequiredMixin, TypedErrorsMixin, View):
    """CSV register for the accountant: the filtered list, one row per document, net and VAT per rate."""

    def get(self, request):
        filterset = selectors.document_list(request.GET)
        queryset = (
            filterset.qs.select_related("corrected_document") if filterset.is_valid() else Document.objects.none()
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rejestr-{date.today():%Y%m%d}.csv"'
        response.write("\ufeff")  # Excel opens UTF-8 with a BOM
        writer = safe_writer(response, delimiter=";")  # formula-leading text neutralised
        header = ["Numer", "Rodzaj", "Stan", "Data wystawienia", "Data sprzedaży", "Nabywca", "NIP nabywcy"]
        for rate in REGISTER_RATES:
            header += [f"Netto {rate}", f"VAT {rate}"]
        header += [
            "Razem netto",
            "Razem VAT",
            "Razem brutto",
            "Waluta",
            "Kurs",
            "VAT w PLN",
            "Dokument korygowany",
            "Zamówienie",
            "Numer KSeF",
        ]
        writer.writerow(header)
        for document in queryset.iterator(chunk_size=2000):
            by_rate = {row["rate"]: row for row in document.vat_summary}
            row = [
                document.number,
                document.get_kind_display(),
                document.get_state_display(),
                document.issue_date.isoformat(),
                document.sale_date.isoformat(),
                document.buyer.get("name", ""),
                document.buyer.get("nip", ""),
            ]
            for rate in REGISTER_RATES:
                row += [by_rate.get(rate, {}).get("net", ""), by_rate.get(rate, {}).get("vat", "")]
            row += [
                document.total_net,
                document.total_vat,
                document.total_gross,
                document.currency,
                document.exchange_rate or "",
                document.total_vat_pln or "",
                document.corrected_document.number if document.corrected_document_id else "",
                document.order_number,
                document.ksef_number,
            ]
            writer.writerow(row)
        return response
