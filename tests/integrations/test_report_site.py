from decimal import Decimal

from integrations.report_site import text_value


def test_ratios_and_percentages_on_the_page_round_half_even_from_their_exact_value() -> None:
    # 0.975 is 0.97499... as a float: the page said 0.97 where the JSON and CSV say 0.975.
    assert text_value("ratio", Decimal("0.975")) == "0.98"
    assert text_value("ratio", 0.975) == "0.98"
    assert text_value("ratio", Decimal("0.965")) == "0.96"
    assert text_value("percent", 0.125) == "12%"
    assert text_value("percent", Decimal("0.135")) == "14%"


def test_the_page_tells_its_reader_how_small_numbers_are_protected() -> None:
    from datetime import UTC, datetime

    from domain.publication import Grade
    from integrations.report_site import ReportDoc, page_html

    doc = ReportDoc("2026-10", "A report", "sub", datetime(2026, 11, 1, tzinfo=UTC), 5, figures=())
    page = page_html(doc, Grade.public, [])
    assert 'id="small-numbers"' in page and "How small numbers are protected" in page
    assert "published exactly" in page and "shown as &lt;5" in page and "withheld (*)" in page
