"""``/v1/movies``: the listing, a movie and its sentiment, with the newest speed windows merged in at request time."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response

from movie_pipeline.merge import SPEED, cutoff
from movie_pipeline.serving import documents
from movie_pipeline.serving.api.backends import Backends
from movie_pipeline.serving.api.deps import ERRORS, MAX_PAGE, NOT_FOUND, AnswersDep, BackendsDep, Key, freshness, view
from movie_pipeline.serving.documents import RANKING_CHUNK, ranking_filters, ranking_id
from movie_pipeline.serving.models import ErrorResponse, MovieListResponse, MovieResponse, SentimentResponse

router = APIRouter(prefix="/v1/movies", tags=["movies"])
MovieId = Annotated[int, Path(ge=1, le=2**31)]
SENTIMENT_WINDOWS = {"48h": timedelta(hours=48), "7d": timedelta(days=7), "30d": timedelta(days=30)}
# a movie's windows are read from a little before its export: the export merged those older ones already
WINDOW_OVERLAP = timedelta(minutes=10)


def movie_document(backends: Backends, movie_id: int, version: dict) -> dict:
    document = view(backends, "movies", version).find_one({"_id": movie_id})
    if document is None:
        raise HTTPException(404, f"no movie {movie_id} in the serving views (export {version['version']})")
    return document


@router.get("/{movie_id}", response_model=MovieResponse, responses={**ERRORS, **NOT_FOUND})
async def get_movie(movie_id: MovieId, _: Key, backends: BackendsDep, answer: AnswersDep) -> Response:
    def build(version: dict) -> MovieResponse:
        document = movie_document(backends, movie_id, version)
        windows = backends.windows.movie(movie_id, version["published_at"] - WINDOW_OVERLAP)
        speed_as_of = None
        if windows:
            speed_as_of = documents.with_current_metrics(document, documents.exported_metrics(document), windows)
        return MovieResponse(data=document, freshness=freshness(version, windows is not None, speed_as_of))

    return await answer(build, speed_merged=True)


@router.get("", response_model=MovieListResponse, responses={**ERRORS, 400: {"model": ErrorResponse}})
async def list_movies(
    _: Key,
    backends: BackendsDep,
    answer: AnswersDep,
    genre: Annotated[str | None, Query(max_length=64, description="e.g. Drama")] = None,
    year: Annotated[int | None, Query(ge=1870, le=2100, description="release year")] = None,
    sort: Annotated[Literal["popularity", "vote_average", "release_date", "title"], Query()] = "popularity",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> Response:
    def build(version: dict) -> MovieListResponse:
        filters = ranking_filters(genre, year)
        if cursor:  # a page of the version the first page came from, while it is kept (current or previous)
            read, position = decode_cursor(cursor, sort, filters, version)
        else:
            read, position = version, 0
        chunks = [ranking_id(sort, filters, n) for n in range(position // RANKING_CHUNK, (position + limit) // RANKING_CHUNK + 1)]
        found = {d["_id"]: d["ids"] for d in view(backends, "rankings", read).find({"_id": {"$in": chunks}})}
        ids = [movie_id for chunk in chunks for movie_id in found.get(chunk, ())]
        offset = position - position // RANKING_CHUNK * RANKING_CHUNK
        page_ids, more = ids[offset : offset + limit], len(ids) > offset + limit
        movies = {d["_id"]: d for d in view(backends, "movies", read).find({"_id": {"$in": page_ids}})}
        page = [movies[movie_id] for movie_id in page_ids if movie_id in movies]
        next_cursor = encode_cursor(read["version"], sort, filters, position + limit) if more else None
        return MovieListResponse(data=page, next_cursor=next_cursor, freshness=freshness(read))

    return await answer(build)


@router.get("/{movie_id}/sentiment", response_model=SentimentResponse, responses={**ERRORS, **NOT_FOUND})
async def movie_sentiment(
    movie_id: MovieId,
    _: Key,
    backends: BackendsDep,
    answer: AnswersDep,
    window: Annotated[Literal["48h", "7d", "30d"], Query(description="hourly buckets for 48h and 7d, daily for 30d")] = "48h",
) -> Response:
    def build(version: dict) -> SentimentResponse:
        now = datetime.now(UTC)
        exported = view(backends, "sentiment", version).find_one({"_id": movie_id})
        if exported is None:
            movie_document(backends, movie_id, version)  # 404 for an unknown movie
            exported = {"movie_id": movie_id, "buckets": [], "sources": []}  # a movie without reviews
        windows = backends.windows.movie(movie_id, cutoff(now))
        if windows is None:  # no Cassandra: the export's speed hours stand in for the windows
            merged, speed_as_of = {**exported, "cutoff": exported.get("cutoff") or cutoff(now)}, None
        else:
            merged = documents.current_sentiment(exported, windows, now)
            speed_as_of = next((part["as_of"] for part in merged["sources"] if part["source"] == SPEED), None)
        since = now - SENTIMENT_WINDOWS[window] - timedelta(hours=1)
        points = documents.sentiment_points([b for b in merged["buckets"] if b["start"] >= since], daily=window == "30d")
        return SentimentResponse(
            movie_id=movie_id,
            window=window,
            bucket="day" if window == "30d" else "hour",
            cutoff=merged["cutoff"],
            data=points,
            gap=merged.get("gap"),
            freshness=freshness(version, windows is not None, speed_as_of),
        )

    return await answer(build, speed_merged=True)


def encode_cursor(version: str, sort: str, filters: str, position: int) -> str:
    raw = json.dumps([version, sort, filters, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, filters: str, current: dict) -> tuple[dict, int]:
    """The version record and position a cursor points at; 400 for a forged, mismatched or expired one."""
    try:
        version, cursor_sort, cursor_filters, position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (cursor_sort, cursor_filters) != (sort, filters):
            raise ValueError("the cursor is of another sort or filter")
        if not isinstance(position, int) or not 0 < position < 2**31:
            raise ValueError("not a position")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise HTTPException(
            400, f"invalid cursor ({error}); pass next_cursor from the previous page with the same sort and filters"
        ) from None
    if version == current["version"]:
        return current, position
    if version == current.get("previous") and current.get("previous_published_at"):
        return {"version": version, "published_at": current["previous_published_at"]}, position
    raise HTTPException(400, f"the cursor's export ({version}) has been replaced since; start again without a cursor")
