from django import forms

from .connections import connection_problem
from .models import PrinterKind


class PrinterForm(forms.Form):
    kind = forms.ChoiceField(label="Rodzaj", choices=PrinterKind.choices)
    name = forms.CharField(label="Nazwa", max_length=100)
    connection = forms.CharField(
        label="Połączenie",
        max_length=200,
        help_text="Drukarka fiskalna / ESC/POS: /dev/ttyUSB0, socket://192.168.1.50:6666 albo rfc2217://…",
    )
    baudrate = forms.TypedChoiceField(
        label="Prędkość (bodów)",
        coerce=int,
        initial=9600,
        choices=[(b, str(b)) for b in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)],
    )
    flow = forms.ChoiceField(
        label="Kontrola przepływu",
        choices=[("none", "brak"), ("xonxoff", "XON/XOFF"), ("rtscts", "RTS/CTS")],
        initial="none",
    )
    active = forms.BooleanField(label="Aktywna", required=False, initial=True)
    dedicated_queue = forms.BooleanField(
        label="Własna kolejka (drukarka podłączona do innego komputera)",
        required=False,
        help_text="Zlecenia trafiają do kolejki printer-<id>; uruchom na tamtym komputerze: "
        "celery -A apilo worker -Q printer-<id> -c 1",
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") and data.get("connection") and (
            problem := connection_problem(data["kind"], data["connection"])
        ):
            self.add_error("connection", problem)
        return data

    def settings(self) -> dict:
        flow = self.cleaned_data["flow"]
        return {"baudrate": self.cleaned_data["baudrate"], "xonxoff": flow == "xonxoff", "rtscts": flow == "rtscts"}

    @staticmethod
    def initial_from(printer) -> dict:
        settings = printer.settings or {}
        flow = "xonxoff" if settings.get("xonxoff") else "rtscts" if settings.get("rtscts") else "none"
        return {
            "kind": printer.kind,
            "name": printer.name,
            "connection": printer.connection,
            "baudrate": settings.get("baudrate", 9600),
            "flow": flow,
            "active": printer.active,
            "dedicated_queue": printer.dedicated_queue,
        }
