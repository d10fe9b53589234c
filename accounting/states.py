"""The document state table: the only list of which state may follow which.

issuing   → issued (numbered locally or by the service), failed (the service refused / gave up),
            attention (a person must check: outcome unknown after the doubt window, totals differ)
failed    → issuing (Ponów), cancelled (only if it never left the app: see the cancellation rules)
attention → issuing (Ponów after a person checked), issued (a person adopted the service's document)
issued    → attention (the service's figures differ from ours), cancelled (only if it never left the app)
cancelled → nothing; a cancelled number stays used.

Who may cancel (never e-mailed, printed, synced or sent to KSeF) is a rule on top of this table, checked by the
cancellation service; `issuing` can never be cancelled.
"""

from apilo.states import TransitionTable

from .models import DocumentState as S

DOCUMENT_STATES = TransitionTable(
    name="dokumentu",
    transitions={
        S.ISSUING: {S.ISSUED, S.FAILED, S.ATTENTION},
        S.FAILED: {S.ISSUING, S.CANCELLED},
        S.ATTENTION: {S.ISSUING, S.ISSUED},
        S.ISSUED: {S.ATTENTION, S.CANCELLED},
        S.CANCELLED: set(),
    },
    labels=dict(S.choices),
    messages={
        (S.ISSUING, S.CANCELLED): "Dokument jest w trakcie wystawiania w serwisie zewnętrznym — nie można go anulować.",
        (S.CANCELLED, S.CANCELLED): "Dokument jest już anulowany.",
        (S.ATTENTION, S.CANCELLED): "Dokument wymaga sprawdzenia w serwisie zewnętrznym — nie można go anulować.",
    },
)
