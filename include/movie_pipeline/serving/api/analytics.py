"""``/v1/trending``, ``/v1/genres/{genre}/stats``, ``/v1/analytics/years``: the export's views, as published."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response

from movie_pipeline.serving.api.deps import ERRORS, MAX_PAGE, NOT_FOUND, AnswersDep, BackendsDep, Key, freshness, view
from movie_pipeline.serving.models import GenreStatsResponse, TrendingResponse, YearStatsResponse

router = APIRouter(prefix="/v1", tags=["analytics"])


@router.get("/trending", response_model=TrendingResponse, responses=ERRORS)
async def trending(
    _: Key,
    backends: BackendsDep,
    answer: AnswersDep,
    window: Annotated[Literal["1h", "24h", "7d"], Query()] = "24h",
    genre: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
) -> Response:
    def build(version: dict) -> TrendingResponse:
        query = {"window": window, **({"genres": genre} if genre else {})}
        items = list(view(backends, "trending", version).find(query).sort("rank", 1).limit(limit))
        data = [{**item, "rank": rank} for rank, item in enumerate(items, start=1)]
        return TrendingResponse(window=window, genre=genre, data=data, freshness=freshness(version))

    return await answer(build)


@router.get("/genres/{genre}/stats", response_model=GenreStatsResponse, responses={**ERRORS, **NOT_FOUND})
async def genre_stats(
    genre: Annotated[str, Path(min_length=1, max_length=64)], _: Key, backends: BackendsDep, answer: AnswersDep
) -> Response:
    def build(version: dict) -> GenreStatsResponse:
        months = list(view(backends, "genre_stats", version).find({"genre": genre}).sort("release_month", 1))
        if not months:
            raise HTTPException(404, f"no genre {genre!r} in the serving views")
        return GenreStatsResponse(genre=genre, data=months, freshness=freshness(version))

    return await answer(build)


@router.get("/analytics/years", response_model=YearStatsResponse, responses=ERRORS)
async def year_stats(_: Key, backends: BackendsDep, answer: AnswersDep) -> Response:
    def build(version: dict) -> YearStatsResponse:
        years = list(view(backends, "year_stats", version).find().sort("_id", 1))
        return YearStatsResponse(data=years, freshness=freshness(version))

    return await answer(build)
