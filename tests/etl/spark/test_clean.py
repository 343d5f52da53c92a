"""The Spark cleaner's kept impressions per day (what the volume gate compares) equal exact
counts from raw, whether counted with the accounting's job or on their own."""

from __future__ import annotations

from typing import Any

import pytest

from keyart.etl import contract
from keyart.etl.spark.clean import Cleaner
from keyart.etl.spark.read import load_raw
from tests.etl.spark.compare import impression_truth
from tests.etl.spark.conftest import SETTINGS, Tiny, read_raw

pytestmark = pytest.mark.spark


def test_day_volumes_match_exact_truth_with_and_without_the_accounting(
    spark: Any, tiny: Tiny
) -> None:
    raw = contract.validate(tiny.full)
    truth = impression_truth([{t: read_raw(tiny.full, t) for t in ("assets", "impressions")}])
    assert truth.per_day
    load_raw(spark, raw)
    for with_accounting in (True, False):
        cleaner = Cleaner(spark, SETTINGS, None)
        try:
            cleaner.dims()
            cleaner.events()
            if with_accounting:
                cleaner.accounting(list(raw.tables))
            assert cleaner.day_volumes() == truth.per_day, with_accounting
        finally:
            cleaner.release()
