"""The Spark sentiment helpers: VADER's compound score as a pandas UDF, and the labelling rule as a Column."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import DoubleType

from movie_pipeline.sentiment import NEGATIVE, NEGATIVE_THRESHOLD, NEUTRAL, POSITIVE, POSITIVE_THRESHOLD


@pandas_udf(DoubleType())
def vader_compound(texts: pd.Series) -> pd.Series:
    """VADER's compound score (-1..1) of each text; the lexicon ships in the package."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return texts.fillna("").map(lambda text: analyzer.polarity_scores(text)["compound"])


def label_column(compound: Column) -> Column:
    """``movie_pipeline.sentiment.sentiment_label`` as a Spark expression (no Python UDF per row)."""
    return F.when(compound >= POSITIVE_THRESHOLD, POSITIVE).when(compound <= NEGATIVE_THRESHOLD, NEGATIVE).otherwise(NEUTRAL)
