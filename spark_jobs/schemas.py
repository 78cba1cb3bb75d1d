"""Spark schemas of the bronze envelope, the TMDB payloads silver reads, and the silver tables.

Only the fields silver uses are declared; TMDB's other fields stay in bronze. Numbers TMDB sends
as integers or decimals alike (``vote_average`` is ``8`` or ``8.2``) are read as doubles; a value
of the wrong type reads as null and is caught by the validation rules in the transforms.
"""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def envelope(payload: StructType) -> StructType:
    """The bronze envelope with the entity's payload schema: one JSON parse per line, not one for the envelope and
    another for the payload kept as text (re-serialising a payload to text costs as much as parsing it)."""
    return StructType(
        [
            StructField("fetched_at", StringType()),
            StructField("endpoint", StringType()),
            StructField("params", StringType()),  # kept as JSON text
            StructField("status", LongType()),
            StructField("payload", payload),
        ]
    )


REVIEW = StructType(
    [
        StructField("id", StringType()),
        StructField("author", StringType()),
        StructField("author_details", StructType([StructField("username", StringType()), StructField("rating", DoubleType())])),
        StructField("content", StringType()),
        StructField("created_at", StringType()),
        StructField("updated_at", StringType()),
        StructField("url", StringType()),
    ]
)

REVIEW_PAGE = StructType(
    [
        StructField("id", LongType()),
        StructField("page", LongType()),
        StructField("total_pages", LongType()),
        StructField("results", ArrayType(REVIEW)),  # validated one by one
    ]
)

_ID_NAME = ArrayType(StructType([StructField("id", LongType()), StructField("name", StringType())]))

MOVIE_DETAILS = StructType(
    [
        StructField("id", LongType()),
        StructField("title", StringType()),
        StructField("original_title", StringType()),
        StructField("original_language", StringType()),
        StructField("overview", StringType()),
        StructField("status", StringType()),
        StructField("release_date", StringType()),
        StructField("runtime", LongType()),
        StructField("budget", LongType()),
        StructField("revenue", LongType()),
        StructField("popularity", DoubleType()),
        StructField("vote_average", DoubleType()),
        StructField("vote_count", LongType()),
        StructField("adult", BooleanType()),
        StructField("imdb_id", StringType()),
        StructField("genres", _ID_NAME),
        StructField(
            "credits",
            StructType(
                [
                    StructField(
                        "cast",
                        ArrayType(
                            StructType(
                                [
                                    StructField("id", LongType()),
                                    StructField("name", StringType()),
                                    StructField("character", StringType()),
                                    StructField("order", LongType()),
                                ]
                            )
                        ),
                    ),
                    StructField(
                        "crew",
                        ArrayType(
                            StructType([StructField("id", LongType()), StructField("name", StringType()), StructField("job", StringType())])
                        ),
                    ),
                ]
            ),
        ),
        StructField("keywords", StructType([StructField("keywords", _ID_NAME)])),
        StructField("reviews", REVIEW_PAGE),
    ]
)

GENRE_LIST = StructType([StructField("genres", _ID_NAME)])

MOVIES = StructType(
    [
        StructField("movie_id", LongType(), False),
        StructField("title", StringType()),
        StructField("original_title", StringType()),
        StructField("original_language", StringType()),
        StructField("overview", StringType()),
        StructField("status", StringType()),
        StructField("release_date", DateType()),
        StructField("runtime_min", LongType()),
        StructField("budget_usd", LongType()),
        StructField("revenue_usd", LongType()),
        StructField("popularity", DoubleType()),
        StructField("vote_average", DoubleType()),
        StructField("vote_count", LongType()),
        StructField("genre_ids", ArrayType(LongType())),
        StructField("genres", ArrayType(StringType())),
        StructField("top_cast", ArrayType(StringType())),
        StructField("directors", ArrayType(StringType())),
        StructField("keywords", ArrayType(StringType())),
        StructField("observed_at", TimestampType()),
        StructField("fetched_at", TimestampType()),
    ]
)
