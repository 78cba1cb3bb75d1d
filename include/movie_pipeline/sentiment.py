"""Sentiment labels, shared by silver reviews and the speed layer's windows.

VADER's standard thresholds on the compound score (-1..1): >= 0.05 positive, <= -0.05 negative,
neutral in between.
"""

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


def sentiment_label(compound: float) -> str:
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"
