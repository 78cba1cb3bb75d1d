"""The Spark sentiment helpers: VADER's compound score as a pandas UDF, and the labelling rule as a Column."""

from __future__ import annotations

from functools import cache

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import DoubleType

from movie_pipeline.sentiment import NEGATIVE, NEGATIVE_THRESHOLD, NEUTRAL, POSITIVE, POSITIVE_THRESHOLD


@cache
def _analyzer():
    """One analyzer per Python worker (reused across batches): loading VADER's lexicons takes longer than scoring a batch."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@pandas_udf(DoubleType())
def vader_compound(texts: pd.Series) -> pd.Series:
    """VADER's compound score (-1..1) of each text; the lexicon ships in the package."""
    analyzer = _analyzer()
    return texts.fillna("").map(lambda text: analyzer.polarity_scores(text)["compound"])


def label_column(compound: Column) -> Column:
    """``movie_pipeline.sentiment.sentiment_label`` as a Spark expression (no Python UDF per row)."""
    return F.when(compound >= POSITIVE_THRESHOLD, POSITIVE).when(compound <= NEGATIVE_THRESHOLD, NEGATIVE).otherwise(NEUTRAL)
