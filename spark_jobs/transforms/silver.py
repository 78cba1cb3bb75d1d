"""bronze -> silver: pure DataFrame -> DataFrame transforms (reading and writing live in the entrypoint).

Bronze lines arrive as ``(value, source_partition, observed_at)``: ``value`` is one JSON envelope
line, ``source_partition`` where it was read from and ``observed_at`` the end of the data interval
it was fetched for. Every record either becomes a typed silver row or a ``rejects`` row with its
reason; nothing is dropped silently.

Time: "latest" means the latest data interval first (``observed_at``), then the latest fetch
within it. Re-running an old interval therefore never makes its (older) records current again,
and the time series is indexed by the interval, so a backfill gives the same silver as the
scheduled runs did.

Sentiment labels use VADER's standard thresholds on the compound score: >= 0.05 positive,
<= -0.05 negative, neutral in between.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from spark_jobs import schemas
from spark_jobs.sentiment import label_column, vader_compound

TOP_CAST = 5
EARLIEST_RELEASE_YEAR = 1870
REJECT_COLUMNS = ("source_entity", "source_partition", "reason", "raw")


def _timestamp(column: Column) -> Column:
    """TMDB's ISO 8601 UTC times, with or without milliseconds; null when unparsable."""
    return F.coalesce(
        F.try_to_timestamp(column, F.lit("yyyy-MM-dd'T'HH:mm:ss.SSSX")),
        F.try_to_timestamp(column, F.lit("yyyy-MM-dd'T'HH:mm:ssX")),
    )


def parse_envelopes(lines: DataFrame, payload: StructType) -> DataFrame:
    """Bronze lines -> envelope columns (``fetched_at`` as a timestamp) plus ``raw`` and the source; ``payload``
    (the entity's schema: ``schemas.MOVIE_DETAILS``, ``REVIEW_PAGE``, ``GENRE_LIST``) parsed in the same pass."""
    parsed = lines.select(
        F.col("value").alias("raw"), "source_partition", "observed_at", F.from_json("value", schemas.envelope(payload)).alias("e")
    )
    return parsed.select(
        "raw",
        "source_partition",
        "observed_at",
        _timestamp(F.col("e.fetched_at")).alias("fetched_at"),
        F.col("e.endpoint").alias("endpoint"),
        F.col("e.status").alias("status"),
        F.col("e.params").alias("params"),
        F.col("e.payload").alias("payload"),
    )


def _first_failure(*rules: tuple[Column, str]) -> Column:
    """The reason of the first rule whose condition holds (null when the record passes all)."""
    reason = F.lit(None).cast("string")
    for condition, text in reversed(rules):
        reason = F.when(condition, F.lit(text)).otherwise(reason)
    return reason


def _rejects(records: DataFrame, entity: str) -> DataFrame:
    return records.select(F.lit(entity).alias("source_entity"), "source_partition", "reason", "raw")


def movie_details(envelopes: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Typed ``/movie/{id}`` responses and tombstones (status 404) -> (details, rejects).

    ``details`` has ``movie_id``, ``observed_at``, ``fetched_at``, ``is_tombstone`` and the payload as ``d``.
    """
    checked = check_details(envelopes)
    return usable_details(checked), detail_rejects(checked)


def check_details(envelopes: DataFrame) -> DataFrame:
    """Every ``/movie/{id}`` response (envelopes parsed with ``schemas.MOVIE_DETAILS``) with the ``reason`` it is
    rejected for (null when usable). ``raw`` is kept for the rejected ones only, so that a job can cache this one
    parse for both ``usable_details`` and ``detail_rejects`` without holding every line twice."""
    requested = F.get_json_object("params", "$.movie_id").cast("long")
    typed = envelopes.select(
        "raw",
        "source_partition",
        "observed_at",
        "fetched_at",
        "status",
        requested.alias("requested_id"),
        F.col("payload").alias("d"),
    )
    release = F.col("d.release_date")
    release_year = F.year(F.try_to_timestamp(release, F.lit("yyyy-MM-dd")))
    checked = typed.withColumn(
        "reason",
        _first_failure(
            (F.col("fetched_at").isNull(), "envelope without a valid fetched_at"),
            (F.col("status") == 404, None),
            (F.col("status") != 200, "unexpected HTTP status"),
            (F.col("d.id").isNull(), "movie id missing or not an integer"),
            (F.col("d.id") != F.col("requested_id"), "payload id differs from the requested movie"),
            (F.col("d.title").isNull(), "title missing"),
            (F.col("d.vote_average").isNull() | ~F.col("d.vote_average").between(0, 10), "vote_average missing or outside 0..10"),
            (F.col("d.vote_count").isNull() | (F.col("d.vote_count") < 0), "vote_count missing or negative"),
            (F.col("d.popularity").isNull() | (F.col("d.popularity") < 0), "popularity missing or negative"),
            ((F.col("d.budget") < 0) | (F.col("d.revenue") < 0) | (F.col("d.runtime") < 0), "negative budget, revenue or runtime"),
            (
                (release != "")
                & (release_year.isNull() | (release_year < EARLIEST_RELEASE_YEAR) | (release_year > F.year("fetched_at") + 20)),
                "implausible release_date",
            ),
        ),
    )
    return checked.withColumn("raw", F.when(F.col("reason").isNotNull(), F.col("raw")))


def usable_details(checked: DataFrame) -> DataFrame:
    """The details ``check_details`` passed: ``movie_id``, ``observed_at``, ``fetched_at``, ``is_tombstone``, ``d``."""
    tombstone = F.col("status") == 404
    valid = checked.where(F.col("reason").isNull() & (tombstone | F.col("d.id").isNotNull()))
    return valid.select(
        F.coalesce(F.col("d.id"), F.col("requested_id")).alias("movie_id"),
        "observed_at",
        "fetched_at",
        tombstone.alias("is_tombstone"),
        "d",
        "source_partition",
    )


def detail_rejects(checked: DataFrame) -> DataFrame:
    return _rejects(checked.where(F.col("reason").isNotNull()), "movie_details")


def genre_names(envelopes: DataFrame) -> DataFrame:
    """The genre list (id -> name), the latest answer winning."""
    genres = envelopes.select("observed_at", "fetched_at", F.explode(F.col("payload.genres")).alias("g"))
    latest = Window.partitionBy("genre_id").orderBy(F.col("observed_at").desc(), F.col("fetched_at").desc())
    return (
        genres.select(F.col("g.id").alias("genre_id"), F.col("g.name").alias("genre_name"), "observed_at", "fetched_at")
        .withColumn("rank", F.row_number().over(latest))
        .where("rank = 1")
        .select("genre_id", "genre_name")
    )


def latest_details(details: DataFrame) -> DataFrame:
    """The latest record per movie (a tombstone included): latest interval, then latest fetch."""
    latest = Window.partitionBy("movie_id").orderBy(F.col("observed_at").desc(), F.col("fetched_at").desc(), F.col("is_tombstone").desc())
    return details.withColumn("rank", F.row_number().over(latest)).where("rank = 1").drop("rank")


def movies_current(details: DataFrame, genres: DataFrame) -> DataFrame:
    """Current state per movie: the latest record wins; a latest tombstone removes the movie."""
    current = latest_details(details).where(~F.col("is_tombstone"))
    genre_map = F.map_from_entries(F.collect_list(F.struct("genre_id", "genre_name")))
    lookup = genres.agg(genre_map.alias("genre_map"))
    cast = F.filter(F.coalesce(F.col("d.credits.cast"), F.array()), lambda c: c["order"] < TOP_CAST)
    return current.crossJoin(F.broadcast(lookup)).select(
        F.col("movie_id"),
        F.col("d.title").alias("title"),
        F.col("d.original_title").alias("original_title"),
        F.col("d.original_language").alias("original_language"),
        F.col("d.overview").alias("overview"),
        F.col("d.status").alias("status"),
        F.try_to_timestamp(F.col("d.release_date"), F.lit("yyyy-MM-dd")).cast("date").alias("release_date"),
        F.when(F.col("d.runtime") > 0, F.col("d.runtime")).alias("runtime_min"),  # 0 means unknown at TMDB
        F.when(F.col("d.budget") > 0, F.col("d.budget")).alias("budget_usd"),
        F.when(F.col("d.revenue") > 0, F.col("d.revenue")).alias("revenue_usd"),
        F.col("d.popularity").alias("popularity"),
        F.col("d.vote_average").alias("vote_average"),
        F.col("d.vote_count").alias("vote_count"),
        F.transform(F.coalesce(F.col("d.genres"), F.array()), lambda g: g["id"]).alias("genre_ids"),
        F.transform(F.coalesce(F.col("d.genres"), F.array()), lambda g: F.coalesce(F.col("genre_map")[g["id"]], g["name"])).alias("genres"),
        F.transform(F.array_sort(cast, lambda a, b: (a["order"] - b["order"]).cast("int")), lambda c: c["name"]).alias("top_cast"),
        F.transform(F.filter(F.coalesce(F.col("d.credits.crew"), F.array()), lambda c: c["job"] == "Director"), lambda c: c["name"]).alias(
            "directors"
        ),
        F.transform(F.coalesce(F.col("d.keywords.keywords"), F.array()), lambda k: k["name"]).alias("keywords"),
        F.col("observed_at"),
        F.col("fetched_at"),
    )


def merge_movies(existing: DataFrame, new_details: DataFrame, genres: DataFrame) -> DataFrame:
    """``movies`` after an interval newer than every one in ``existing``: its latest records replace
    (or, as tombstones, remove) the movies they name; the others stay as they are."""
    latest = latest_details(new_details)
    kept = existing.join(F.broadcast(latest.select("movie_id")), "movie_id", "left_anti")  # one interval's: small
    return kept.unionByName(movies_current(latest, genres))


def movie_snapshots(details: DataFrame) -> DataFrame:
    """The metric time series: one row per movie and data interval (its latest fetch in the interval)."""
    latest_fetch = Window.partitionBy("movie_id", "observed_at").orderBy(F.col("fetched_at").desc())
    return (
        details.where(~F.col("is_tombstone"))
        .withColumn("rank", F.row_number().over(latest_fetch))
        .where("rank = 1")
        .select(
            "movie_id",
            "observed_at",
            "fetched_at",
            F.col("d.popularity").alias("popularity"),
            F.col("d.vote_average").alias("vote_average"),
            F.col("d.vote_count").alias("vote_count"),
        )
    )


def merge_snapshots(existing: DataFrame, new: DataFrame) -> DataFrame:
    """The time series plus a newer interval's snapshots."""
    return existing.unionByName(new)


def known_movies(details: DataFrame) -> DataFrame:
    """movie_id of every movie with at least one valid (non-tombstone) details record."""
    return details.where(~F.col("is_tombstone")).select("movie_id").distinct()


def review_movies(details: DataFrame, review_pages: DataFrame) -> DataFrame:
    """movie_id of every movie some review of these details and review pages belongs to."""
    pages = review_pages.select(F.get_json_object("params", "$.movie_id").cast("long").alias("movie_id"))
    return known_movies(details).unionByName(pages).distinct()


def reviews(details: DataFrame, review_pages: DataFrame, known: DataFrame | None = None) -> tuple[DataFrame, DataFrame]:
    """Reviews from the details' first page and the further pages -> (reviews, rejects): ``review_versions``
    deduplicated by review id (``latest_reviews``), not yet scored (``scored``)."""
    versions, rejects = review_versions(details, review_pages, known)
    return latest_reviews(versions), rejects


def review_versions(details: DataFrame, review_pages: DataFrame, known: DataFrame | None = None) -> tuple[DataFrame, DataFrame]:
    """Every valid review row of the details' first page and the further pages, as observed (a review seen twice is
    two rows) -> (versions, rejects).

    ``known`` (default: the movies of ``details``) are the movies a review may belong to. A rejected review's ``raw``
    is the review as parsed (its bronze line, under ``source_partition``, keeps it as TMDB sent it).
    """
    from_details = details.where(~F.col("is_tombstone")).select(
        "movie_id", "observed_at", "fetched_at", "source_partition", F.explode(F.col("d.reviews.results")).alias("r")
    )
    pages = review_pages.select(
        F.get_json_object("params", "$.movie_id").cast("long").alias("movie_id"),
        "observed_at",
        "fetched_at",
        "source_partition",
        F.explode(F.col("payload.results")).alias("r"),
    )
    known = (known if known is not None else known_movies(details)).withColumn("known", F.lit(True))
    parsed = (
        from_details.unionByName(pages)
        .join(known, "movie_id", "left")
        .withColumn("created_at", _timestamp(F.col("r.created_at")))
        .withColumn("updated_at", F.coalesce(_timestamp(F.col("r.updated_at")), F.col("created_at")))
    )
    checked = parsed.withColumn(
        "reason",
        _first_failure(
            ((F.col("r.id").isNull()) | (F.col("r.id") == ""), "review id missing or not a string"),
            (F.col("created_at").isNull(), "review created_at is not a timestamp"),
            (F.col("known").isNull(), "review of an unknown movie"),
            (
                F.col("r.author_details.rating").isNotNull() & ~F.col("r.author_details.rating").between(0, 10),
                "review rating outside 0..10",
            ),
        ),
    )
    valid = checked.where(F.col("reason").isNull()).select(
        F.col("r.id").alias("review_id"),
        "movie_id",
        F.col("r.author").alias("author"),
        F.col("r.author_details.rating").alias("author_rating"),
        F.col("r.content").alias("content"),
        "created_at",
        "updated_at",
        "observed_at",
        "fetched_at",
    )
    rejects = checked.where(F.col("reason").isNotNull()).select(
        F.lit("reviews").alias("source_entity"), "source_partition", "reason", F.to_json("r").alias("raw")
    )
    return valid, rejects


def scored(reviews: DataFrame) -> DataFrame:
    """Reviews with VADER's ``sentiment_compound`` and its ``sentiment_label``."""
    return reviews.withColumn("sentiment_compound", vader_compound(F.col("content"))).withColumn(
        "sentiment_label", label_column(F.col("sentiment_compound"))
    )


def latest_reviews(reviews: DataFrame) -> DataFrame:
    """One row per review id: its latest version (``updated_at``) as first observed (the earliest interval, then
    fetch), so a review seen again unchanged keeps the row silver already has."""
    latest = Window.partitionBy("review_id").orderBy(F.col("updated_at").desc(), F.col("observed_at").asc(), F.col("fetched_at").asc())
    return reviews.withColumn("rank", F.row_number().over(latest)).where("rank = 1").drop("rank")


def newest_versions(versions: DataFrame) -> DataFrame:
    """(review_id, updated_at) of each review's newest version among ``versions``: keys only, so that finding what a
    merge must add shuffles no review text."""
    return versions.groupBy("review_id").agg(F.max("updated_at").alias("updated_at"))


def unseen_reviews(versions: DataFrame, existing: DataFrame) -> DataFrame:
    """``latest_reviews`` of ``versions`` (one interval's ``review_versions``, unscored) that ``existing`` does not
    hold at that version (id and ``updated_at``): new reviews and edits. Found on the keys first (``existing`` is only
    scanned for the interval's, which are broadcast); only the unseen ones are deduplicated with their text."""
    keys = ["review_id", "updated_at"]
    newest = newest_versions(versions)
    held = existing.select(*keys).join(F.broadcast(newest), keys, "left_semi")
    return latest_reviews(versions.join(F.broadcast(newest.join(held, keys, "left_anti")), keys, "left_semi"))


def merge_reviews(existing: DataFrame, unseen: DataFrame) -> DataFrame:
    """``reviews`` (scored, one row per review) after a newer interval's ``unseen_reviews``: those are scored (VADER
    runs only on new and edited reviews) and an edit replaces the version it follows. The same as
    ``latest_reviews(existing ∪ scored(unseen))``, but only the unseen reviews' ids are deduplicated: the other
    rows of ``existing`` are kept as they are, without a shuffle."""
    ids = F.broadcast(unseen.select("review_id"))  # one interval's: small
    contested = existing.join(ids, "review_id", "left_semi").unionByName(scored(unseen))
    return existing.join(ids, "review_id", "left_anti").unionByName(latest_reviews(contested))
