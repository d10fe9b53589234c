"""The print-job state table: the only list of which state may follow which.

queued    → printing (a worker took it), queued (still waiting: paper out, cover open, printer busy)
printing  → done, queued (the printer said it waits before anything was printed), failed (refused before printing),
            attention (doubt: crash or lost reply mid-receipt, a worker died while printing)
queued    → failed also when its document is cancelled before printing ("anulowany": it never prints)
failed    → queued (Ponów by a person)
attention → queued (a person checked the printout and asked to print again), failed (its document was cancelled)
done      → nothing: a printed job is never printed again.
"""

from apilo.states import TransitionTable

from .models import JobState as S

PRINT_JOB_STATES = TransitionTable(
    name="zlecenia wydruku",
    transitions={
        S.QUEUED: {S.PRINTING, S.QUEUED, S.FAILED},
        S.PRINTING: {S.DONE, S.QUEUED, S.FAILED, S.NEEDS_ATTENTION},
        S.FAILED: {S.QUEUED},
        S.NEEDS_ATTENTION: {S.QUEUED, S.FAILED},
        S.DONE: set(),
    },
    labels=dict(S.choices),
    messages={
        (S.DONE, S.PRINTING): "To zlecenie zostało już wydrukowane — nie drukujemy drugi raz.",
        (S.DONE, S.QUEUED): "To zlecenie zostało już wydrukowane — nie drukujemy drugi raz.",
        (S.DONE, S.FAILED): "To zlecenie zostało już wydrukowane — nie można go anulować.",
    },
)
