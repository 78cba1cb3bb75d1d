"""The sentiment labelling rule, for silver's reviews and the speed layer's windows alike.

VADER's standard thresholds on the compound score (-1..1): >= 0.05 positive, <= -0.05 negative,
neutral in between. ``spark_jobs.sentiment.label_column`` is the same rule as a Spark expression.
"""

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"


def sentiment_label(compound: float) -> str:
    if compound >= POSITIVE_THRESHOLD:
        return POSITIVE
    if compound <= NEGATIVE_THRESHOLD:
        return NEGATIVE
    return NEUTRAL
