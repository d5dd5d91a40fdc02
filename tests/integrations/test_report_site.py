from decimal import Decimal

from integrations.report_site import text_value


def test_ratios_and_percentages_on_the_page_round_half_even_from_their_exact_value() -> None:
    # 0.975 is 0.97499... as a float: the page said 0.97 where the JSON and CSV say 0.975.
    assert text_value("ratio", Decimal("0.975")) == "0.98"
    assert text_value("ratio", 0.975) == "0.98"
    assert text_value("ratio", Decimal("0.965")) == "0.96"
    assert text_value("percent", 0.125) == "12%"
    assert text_value("percent", Decimal("0.135")) == "14%"
