"""The API's response models (Pydantic): what the OpenAPI document promises, field by field."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["batch", "speed"]


class Freshness(BaseModel):
    """How fresh an answer is: when it was served, which export it came from, and the speed data merged at request time."""

    served_at: datetime
    export_version: str
    exported_at: datetime
    speed_merged: bool = Field(description="speed windows newer than the export were merged in at request time")
    speed_as_of: datetime | None = Field(None, description="the newest speed event in the answer")


class SourcePartModel(BaseModel):
    source: Source
    as_of: datetime | None = None


class MovieSources(BaseModel):
    metrics: SourcePartModel | None = None
    metadata: SourcePartModel
    reviews: SourcePartModel


class Movie(BaseModel):
    movie_id: int
    title: str | None = None
    release_date: datetime | None = None
    release_year: int | None = None
    genres: list[str] = []
    original_language: str | None = None
    status: str | None = None
    runtime_min: int | None = None
    budget_usd: int | None = None
    revenue_usd: int | None = None
    popularity: float | None = None
    vote_average: float | None = None
    vote_count: int | None = None
    review_count: int | None = None
    positive_reviews: int | None = None
    neutral_reviews: int | None = None
    negative_reviews: int | None = None
    mean_sentiment: float | None = None
    popularity_velocity_7d: float | None = None
    popularity_velocity_30d: float | None = None
    popularity_velocity_90d: float | None = None
    sources: MovieSources


class MovieResponse(BaseModel):
    data: Movie
    freshness: Freshness


class MovieListResponse(BaseModel):
    data: list[Movie]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")
    freshness: Freshness


class SentimentPoint(BaseModel):
    start: datetime
    reviews: int
    sentiment_sum: float
    mean_compound: float | None = None
    positive: int
    neutral: int
    negative: int
    source: Source


class SentimentGap(BaseModel):
    from_: datetime | None = Field(alias="from", serialization_alias="from")
    until: datetime


class SentimentResponse(BaseModel):
    movie_id: int
    window: Literal["48h", "7d", "30d"]
    bucket: Literal["hour", "day"]
    cutoff: datetime = Field(description="buckets before it come from the batch views, from it on from the speed views")
    data: list[SentimentPoint]
    gap: SentimentGap | None = Field(description="hours neither layer could serve (the batch has not reached the cutoff)")
    freshness: Freshness


class TrendingItem(BaseModel):
    rank: int
    movie_id: int
    title: str | None = None
    genres: list[str] = []
    score: float = Field(description="1h/24h: popularity gained in the speed windows; 7d: popularity velocity per day (batch)")
    source: Source


class TrendingResponse(BaseModel):
    window: Literal["1h", "24h", "7d"]
    genre: str | None = None
    data: list[TrendingItem]
    freshness: Freshness


class GenreMonth(BaseModel):
    release_month: datetime
    movies: int | None = None
    vote_weighted_rating: float | None = None
    votes: int | None = None
    mean_popularity: float | None = None
    mean_sentiment: float | None = None
    revenue_usd: int | None = None
    budget_usd: int | None = None


class GenreStatsResponse(BaseModel):
    genre: str
    data: list[GenreMonth]
    freshness: Freshness


class YearStats(BaseModel):
    release_year: int
    movies: int | None = None
    vote_weighted_rating: float | None = None
    votes: int | None = None
    mean_popularity: float | None = None
    revenue_usd: int | None = None
    movies_yoy_change: int | None = None
    rating_yoy_change: float | None = None


class YearStatsResponse(BaseModel):
    data: list[YearStats]
    freshness: Freshness


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(description="mongodb, redis, cassandra: 'ok' or what failed")


class ErrorResponse(BaseModel):
    detail: str
