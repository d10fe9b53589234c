from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from accounting import vat

RATES = ["23", "8", "5", "0", "zw", "np"]
lines = st.lists(
    st.tuples(
        st.sampled_from(RATES),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3),
        st.decimals(min_value=Decimal("0.00"), max_value=Decimal("99999.99"), places=2),
    ),
    min_size=1,
    max_size=25,
)


def test_vat_is_computed_on_the_gross_sum_per_rate_half_up():
    # 99.98 + 14.99 = 114.97 gross at 23%: VAT = 114.97 × 23/123 = 21.4982… → 21.50
    summary = vat.vat_summary([("23", Decimal("99.98")), ("23", Decimal("14.99"))])
    assert summary == [{"rate": "23", "net": Decimal("93.47"), "vat": Decimal("21.50"), "gross": Decimal("114.97")}]


def test_half_grosz_rounds_up():
    # 0.5 × 1.23 = 0.615 → 0.62 (half up; banker's rounding would give 0.62 too, so also check 0.125 → 0.13)
    assert vat.line_amounts(Decimal("0.5"), Decimal("1.23"), "0").gross == Decimal("0.62")
    assert vat.line_amounts(Decimal("0.5"), Decimal("0.25"), "0").gross == Decimal("0.13")
    # 1.23 gross at 23%: VAT = 1.23 × 23/123 = 0.23 exactly; 0.65: 0.1215… → 0.12
    assert vat.line_amounts(Decimal("1"), Decimal("0.65"), "23").vat == Decimal("0.12")


def test_exempt_and_not_taxed_lines_carry_no_vat():
    summary = vat.vat_summary([("zw", Decimal("350.00")), ("np", Decimal("100.00"))])
    assert [(r["rate"], r["vat"], r["net"]) for r in summary] == [
        ("zw", 0, Decimal("350.00")),
        ("np", 0, Decimal("100.00")),
    ]


@settings(max_examples=300, deadline=None)
@given(lines)
def test_random_documents_always_add_up(items):
    built = [(rate, vat.line_amounts(qty, price, rate)) for rate, qty, price in items]
    summary = vat.vat_summary((rate, amounts.gross) for rate, amounts in built)
    net, tax, gross = vat.totals(summary)

    # total = sum of the per-rate totals, gross = net + VAT, per rate and overall
    assert gross == sum(a.gross for _, a in built)
    assert net + tax == gross
    for row in summary:
        assert row["net"] + row["vat"] == row["gross"]
        percent = vat.rate_percent(row["rate"])
        exact = row["gross"] * percent / (100 + percent)
        assert row["vat"] == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert row["vat"].as_tuple().exponent == -2
    for _rate, amounts in built:
        assert amounts.net + amounts.vat == amounts.gross


@settings(max_examples=200, deadline=None)
@given(lines, lines)
def test_correction_differences_add_up_to_after_minus_before(before, after):
    def summary(items):
        return vat.vat_summary((r, vat.line_amounts(q, p, r).gross) for r, q, p in items)

    difference = vat.summary_difference(summary(after), summary(before))
    assert vat.totals(difference)[2] == vat.totals(summary(after))[2] - vat.totals(summary(before))[2]
    for row in difference:
        assert row["net"] + row["vat"] == row["gross"]


def test_amount_in_words():
    assert (
        vat.amount_in_words(Decimal("2051.37"), "PLN")
        == "dwa tysiące pięćdziesiąt jeden złotych, trzydzieści siedem groszy"
    )
    assert vat.amount_in_words(Decimal("-200.00"), "PLN").startswith("minus dwieście złotych")
    assert vat.amount_in_words(Decimal("12.30"), "GBP") == "dwanaście GBP 30/100"
