"""One labelling rule: the Spark expression labels every compound score as the Python function does."""

from pyspark.sql import functions as F

from movie_pipeline.sentiment import NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD, sentiment_label
from spark_jobs.sentiment import label_column

SCORES = [-1.0, -0.5, NEGATIVE_THRESHOLD - 1e-9, NEGATIVE_THRESHOLD, -0.01, 0.0, 0.01, POSITIVE_THRESHOLD, POSITIVE_THRESHOLD + 1e-9, 0.9]


def test_the_spark_labels_are_the_python_labels(spark):
    frame = spark.createDataFrame([(score,) for score in SCORES], "compound double")
    labels = {row.compound: row.label for row in frame.select("compound", label_column(F.col("compound")).alias("label")).collect()}
    assert labels == {score: sentiment_label(score) for score in SCORES}
    assert {labels[NEGATIVE_THRESHOLD], labels[0.0], labels[POSITIVE_THRESHOLD]} == {"negative", "neutral", "positive"}
