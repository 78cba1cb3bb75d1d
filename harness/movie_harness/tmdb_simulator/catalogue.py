"""A deterministic synthetic TMDB catalogue, computed on demand.

Nothing is materialised up front: every movie is a pure function of ``(seed, index)`` and of the
time at which it is looked at, so a 1,000,000-movie catalogue costs no memory until asked. The
same object is the simulator's data source and the tests' ground truth.

The model
- Movie ``index`` 0..N-1 has the TMDB id ``2 + 3 * index`` (ids are sparse, like TMDB's) and a
  primary release date that never decreases with the index, so a release-date window is an index
  range and ``primary_release_date.asc`` order is index order.
- Every movie is updated every ``UPDATE_PERIOD`` from ``EPOCH`` on, at its own phase. Each update
  raises ``vote_count``, moves ``vote_average`` and ``popularity`` and sometimes adds a review;
  the change feed lists a movie on the days it had an update. Values only change at updates.
- Movies with ``index % 97 == 13`` are adult. Movies with ``index % 43 == 7`` (and not adult) are
  deleted at one of their updates: from then on they 404 and they leave discover.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

GENRES: tuple[tuple[int, str], ...] = (
    (28, "Action"),
    (12, "Adventure"),
    (16, "Animation"),
    (35, "Comedy"),
    (80, "Crime"),
    (99, "Documentary"),
    (18, "Drama"),
    (10751, "Family"),
    (14, "Fantasy"),
    (36, "History"),
    (27, "Horror"),
    (10402, "Music"),
    (9648, "Mystery"),
    (10749, "Romance"),
    (878, "Science Fiction"),
    (10770, "TV Movie"),
    (53, "Thriller"),
    (10752, "War"),
    (37, "Western"),
)
GENRE_NAMES = dict(GENRES)

EPOCH = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
UPDATE_PERIOD = 4 * 86400.0
PHASE_SLOTS = 5760  # one-minute slots over the update period
_PHASE_MULTIPLIER = 7919  # prime, so coprime with PHASE_SLOTS: index -> slot is a bijection mod SLOTS
FIRST_RELEASE = date(1950, 1, 1)
LAST_RELEASE = date(2027, 12, 31)
_RELEASE_SPAN_DAYS = (LAST_RELEASE - FIRST_RELEASE).days
ADULT_MODULUS, ADULT_RESIDUE = 97, 13
DELETABLE_MODULUS, DELETABLE_RESIDUE = 43, 7
REVIEW_PAGE_SIZE = 20
EXPORT_SNAPSHOT_S = 7 * 3600.0  # the export job starts about 07:00 UTC ...
EXPORT_PUBLISHED_S = 8 * 3600.0  # ... and every file is there by 08:00
EXPORT_RETENTION_S = 92 * 86400.0  # files are kept 3 months
_EXPORT_STRIDE = 7_368_787  # prime: the export's lines step through the catalogue by it

_ADJECTIVES = (
    "Silent Crimson Last Hidden Broken Golden Distant Electric Savage Quiet Burning Frozen Lonely "
    "Eternal Wild Secret Iron Midnight Paper Glass"
).split()
_NOUNS = (
    "Harbor Empire Horizon Garden Signal Frontier Kingdom River Machine Orchard Mirror Voyage "
    "Lantern Storm Citadel Echo Meridian Tide Canyon Letter"
).split()
_LANGUAGES = ("en", "en", "en", "en", "fr", "es", "ja", "ko", "de", "it", "hi")
_COUNTRIES = {"en": "US", "fr": "FR", "es": "ES", "ja": "JP", "ko": "KR", "de": "DE", "it": "IT", "hi": "IN"}
_LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ja": "Japanese",
    "ko": "Korean",
    "de": "German",
    "it": "Italian",
    "hi": "Hindi",
}
_FIRST_NAMES = "Ava Noah Mia Liam Zoe Omar Lena Ravi Yuki Ines Tomas Chloe Amir Sofia Kenji Nadia".split()
_LAST_NAMES = "Park Silva Novak Haddad Moreau Tanaka Okafor Berg Rossi Khan Weber Costa Ito Lind".split()

# Review sentences whose sentiment is unambiguous to a lexicon model such as VADER.
_REVIEW_SENTENCES = {
    "positive": (
        "An absolutely wonderful film, I loved every minute of it.",
        "Brilliant performances and a beautiful, moving story.",
        "A great, joyful experience; the best movie I have seen this year.",
        "Superb direction and an excellent, charming cast.",
    ),
    "negative": (
        "A terrible, boring mess and a complete waste of time.",
        "Awful writing, horrible pacing and a painfully bad ending.",
        "I hated it; the acting was dreadful and the plot was stupid.",
        "Disappointing, dull and ugly from start to finish.",
    ),
    "neutral": (
        "The film runs about two hours and was shot on location.",
        "It is a sequel to the earlier film and follows the same family.",
        "The story takes place in a small town during one summer.",
        "It was released in cinemas and later on streaming services.",
    ),
}
_SENTIMENT_RATINGS = {"positive": (8.0, 9.0, 10.0), "negative": (1.0, 2.0, 3.0), "neutral": (5.0, 6.0)}


def _hash(seed: int, *parts: object) -> int:
    """A stable 64-bit hash of the parts (Python's hash() is salted per process)."""
    text = ":".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _unit(seed: int, *parts: object) -> float:
    """A stable pseudo-random number in [0, 1)."""
    return _hash(seed, *parts) / 2**64


def _hex24(seed: int, *parts: object) -> str:
    text = ":".join(str(p) for p in (seed, *parts)).encode()
    return hashlib.blake2b(text, digest_size=12).hexdigest()


def iso_z(ts: float) -> str:
    """A UTC timestamp in TMDB's review format, ``2026-07-01T12:00:00Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Review:
    """A review as the simulator serves it, with the sentiment its text was written with."""

    movie_id: int
    review_id: str
    created_at: float
    sentiment: str
    payload: dict


class Catalogue:
    """The synthetic catalogue: ``Catalogue(size, seed)``; every method takes the time ``now``."""

    def __init__(self, size: int = 2000, seed: int = 42) -> None:
        if size < 1:
            raise ValueError("the catalogue needs at least one movie")
        self.size = size
        self.seed = seed
        self._slot_inverse = pow(_PHASE_MULTIPLIER, -1, PHASE_SLOTS)
        self._changes_cache = lru_cache(maxsize=64)(self._changed_indexes_uncached)

    # ---- identity -------------------------------------------------------------------------
    @staticmethod
    def movie_id(index: int) -> int:
        return 2 + 3 * index

    def index_of(self, movie_id: int) -> int | None:
        """The catalogue index of a TMDB id, or None when no movie ever had that id."""
        if movie_id < 2 or (movie_id - 2) % 3:
            return None
        index = (movie_id - 2) // 3
        return index if index < self.size else None

    @staticmethod
    def is_adult(index: int) -> bool:
        return index % ADULT_MODULUS == ADULT_RESIDUE

    @staticmethod
    def is_deletable(index: int) -> bool:
        return index % DELETABLE_MODULUS == DELETABLE_RESIDUE and index % ADULT_MODULUS != ADULT_RESIDUE

    # ---- release dates (monotone in index) ------------------------------------------------
    def release_date(self, index: int) -> date:
        # Density grows linearly with time (more films every decade), via sqrt of the rank.
        offset = math.floor(_RELEASE_SPAN_DAYS * math.sqrt((index + 0.5) / self.size))
        return FIRST_RELEASE + timedelta(days=min(offset, _RELEASE_SPAN_DAYS))

    def first_index_on_or_after(self, day: date) -> int:
        """The smallest index whose release date is >= day (``size`` if none)."""
        days = (day - FIRST_RELEASE).days
        if days <= 0:
            return 0
        if days > _RELEASE_SPAN_DAYS:
            return self.size
        guess = max(0, min(self.size, math.ceil(self.size * (days / _RELEASE_SPAN_DAYS) ** 2 - 0.5)))
        while guess > 0 and self.release_date(guess - 1) >= day:
            guess -= 1
        while guess < self.size and self.release_date(guess) < day:
            guess += 1
        return guess

    def index_range(self, gte: date | None, lte: date | None) -> tuple[int, int]:
        """The half-open index range of movies released in [gte, lte]."""
        lo = 0 if gte is None else self.first_index_on_or_after(gte)
        hi = self.size if lte is None else self.first_index_on_or_after(lte + timedelta(days=1))
        return lo, max(lo, hi)

    # ---- updates, deletion ----------------------------------------------------------------
    def phase(self, index: int) -> float:
        slot = (index * _PHASE_MULTIPLIER + self.seed) % PHASE_SLOTS
        return slot * (UPDATE_PERIOD / PHASE_SLOTS)

    def update_time(self, index: int, k: int) -> float:
        return EPOCH + self.phase(index) + k * UPDATE_PERIOD

    def deletion_update(self, index: int) -> int | None:
        """The number of the update at which the movie is deleted, or None if it never is."""
        if not self.is_deletable(index):
            return None
        return 2 + _hash(self.seed, index, "deleted") % 400

    def deleted_at(self, index: int) -> float | None:
        k = self.deletion_update(index)
        return None if k is None else self.update_time(index, k)

    def is_deleted(self, index: int, now: float) -> bool:
        at = self.deleted_at(index)
        return at is not None and at <= now

    def updates_by(self, index: int, now: float) -> int:
        """How many updates the movie has had by ``now`` (its version number)."""
        elapsed = now - EPOCH - self.phase(index)
        done = 0 if elapsed < 0 else math.floor(elapsed / UPDATE_PERIOD) + 1
        last = self.deletion_update(index)
        return done if last is None else min(done, last + 1)

    # ---- evolving values ------------------------------------------------------------------
    def vote_count(self, index: int, now: float) -> int:
        base = _hash(self.seed, index, "votes") % 5000
        rate = 1 + _hash(self.seed, index, "vote-rate") % 30
        if base < 300:  # a share of obscure films with no votes before the epoch
            base = 0
        return base + rate * self.updates_by(index, now)

    def vote_average(self, index: int, now: float) -> float:
        if self.vote_count(index, now) == 0:
            return 0
        quality = 3.0 + 6.0 * _unit(self.seed, index, "quality")
        n = self.updates_by(index, now)
        wobble = 0.6 * math.sin(n * 0.7 + 6.28 * _unit(self.seed, index, "wobble"))
        return round(min(10.0, max(0.5, quality + wobble)), 3)

    def popularity(self, index: int, now: float) -> float:
        base = 0.6 + 200.0 * _unit(self.seed, index, "pop") ** 3
        n = self.updates_by(index, now)
        swing = 1.0 + 0.5 * math.sin(n * 0.9 + 6.28 * _unit(self.seed, index, "swing"))
        return round(base * swing, 3)

    # ---- reviews --------------------------------------------------------------------------
    def _initial_review_count(self, index: int) -> int:
        return _hash(self.seed, index, "reviews0") % 4

    def _review_times(self, index: int, now: float) -> list[tuple[str, float]]:
        """(key, created_at) of the movie's reviews by ``now``, oldest first."""
        times: list[tuple[str, float]] = []
        for j in range(self._initial_review_count(index)):
            created = EPOCH - (j + 1) * 9 * 86400 - self.phase(index)
            times.append((f"r0-{j}", created))
        times.reverse()
        for k in range(1, self.updates_by(index, now)):
            if _hash(self.seed, index, k, "review") % 100 < 4:
                times.append((f"u{k}", self.update_time(index, k)))
        return [(key, t) for key, t in times if t <= now]

    def reviews(self, movie_id: int, now: float) -> list[Review]:
        """Every review of the movie visible at ``now``, oldest first (TMDB's order)."""
        index = self.index_of(movie_id)
        if index is None or self.is_deleted(index, now):
            return []
        return [self._review(index, key, created) for key, created in self._review_times(index, now)]

    def _review(self, index: int, key: str, created: float) -> Review:
        seed = self.seed
        quality = _unit(seed, index, "quality")
        roll = _unit(seed, index, key, "sentiment")
        sentiment = "positive" if roll < 0.25 + 0.5 * quality else "negative" if roll < 0.9 else "neutral"
        sentences = _REVIEW_SENTENCES[sentiment]
        first = _hash(seed, index, key, "s1") % len(sentences)
        second = (first + 1 + _hash(seed, index, key, "s2") % (len(sentences) - 1)) % len(sentences)
        ratings = _SENTIMENT_RATINGS[sentiment]
        rating = None if _hash(seed, index, key, "rated") % 5 == 0 else ratings[_hash(seed, index, key) % len(ratings)]
        review_id = _hex24(seed, index, key, "review-id")
        username = f"{_FIRST_NAMES[_hash(seed, index, key, 'fn') % len(_FIRST_NAMES)].lower()}{_hash(seed, index, key, 'un') % 1000}"
        avatar = [
            None,
            f"/{_hex24(seed, index, key, 'avatar')[:27]}.jpg",
            f"/https://secure.gravatar.com/avatar/{_hex24(seed, key, index)}.jpg",
        ][_hash(seed, index, key, "av") % 3]
        payload = {
            "author": username,
            "author_details": {
                "name": "" if _hash(seed, index, key, "nm") % 2 else username.title(),
                "username": username,
                "avatar_path": avatar,
                "rating": rating,
            },
            "content": f"{sentences[first]}\r\n\r\n{sentences[second]}",
            "created_at": iso_z(created),
            "id": review_id,
            "updated_at": iso_z(created),
            "url": f"https://www.themoviedb.org/review/{review_id}",
        }
        return Review(self.movie_id(index), review_id, created, sentiment, payload)

    def review_page(self, movie_id: int, page: int, now: float) -> dict:
        reviews = self.reviews(movie_id, now)
        return paginate([r.payload for r in reviews], page, REVIEW_PAGE_SIZE)

    # ---- static attributes ----------------------------------------------------------------
    def title(self, index: int) -> str:
        adjective = _ADJECTIVES[_hash(self.seed, index, "adj") % len(_ADJECTIVES)]
        noun = _NOUNS[_hash(self.seed, index, "noun") % len(_NOUNS)]
        sequel = _hash(self.seed, index, "sequel") % 7
        return f"The {adjective} {noun}" + (f" {sequel}" if sequel > 4 else "")

    def language(self, index: int) -> str:
        return _LANGUAGES[_hash(self.seed, index, "lang") % len(_LANGUAGES)]

    def genre_ids(self, index: int) -> list[int]:
        count = 1 + _hash(self.seed, index, "genre-count") % 3
        picks: list[int] = []
        for j in range(count):
            genre = GENRES[_hash(self.seed, index, "genre", j) % len(GENRES)][0]
            if genre not in picks:
                picks.append(genre)
        return picks

    def _image(self, index: int, kind: str) -> str | None:
        if _hash(self.seed, index, kind, "missing") % 8 == 0:
            return None
        return f"/{_hex24(self.seed, index, kind)[:27]}.jpg"

    def list_item(self, index: int, now: float) -> dict:
        """The movie as an item of discover/trending/popular lists."""
        release = self.release_date(index)
        language = self.language(index)
        title = self.title(index)
        return {
            "adult": self.is_adult(index),
            "backdrop_path": self._image(index, "backdrop"),
            "genre_ids": self.genre_ids(index),
            "id": self.movie_id(index),
            "original_language": language,
            "original_title": self.original_title(index),
            "overview": self.overview(index),
            "popularity": self.popularity(index, now),
            "poster_path": self._image(index, "poster"),
            "release_date": release.isoformat(),
            "softcore": False,
            "title": title,
            "video": False,
            "vote_average": self.vote_average(index, now),
            "vote_count": self.vote_count(index, now),
        }

    def original_title(self, index: int) -> str:
        title, language = self.title(index), self.language(index)
        return title if language == "en" else f"{title} ({language})"

    def overview(self, index: int) -> str:
        if _hash(self.seed, index, "overview") % 20 == 0:
            return ""
        noun = _NOUNS[_hash(self.seed, index, "ov-noun") % len(_NOUNS)].lower()
        return f"A story of a {noun} and the people who cannot leave it behind."

    def details(self, movie_id: int, now: float, append: tuple[str, ...] = ()) -> dict | None:
        """``/movie/{id}`` as TMDB serves it at ``now``; None when the id is unknown or deleted."""
        index = self.index_of(movie_id)
        if index is None or self.is_deleted(index, now):
            return None
        seed = self.seed
        item = self.list_item(index, now)
        release = self.release_date(index)
        language = item["original_language"]
        released = release <= datetime.fromtimestamp(now, UTC).date()
        status = "Released" if released else ("Post Production", "In Production", "Planned")[index % 3]
        budget = 0 if _hash(seed, index, "budget0") % 3 == 0 else 100_000 * (1 + _hash(seed, index, "budget") % 3000)
        revenue = 0 if budget == 0 or not released else budget * (1 + _hash(seed, index, "rev") % 9) // 2
        runtime = 0 if _hash(seed, index, "rt0") % 20 == 0 else 75 + _hash(seed, index, "rt") % 110
        collection = None
        if _hash(seed, index, "coll") % 7 == 0:
            collection = {
                "id": 10_000 + index,
                "name": f"{item['title']} Collection",
                "poster_path": self._image(index, "coll-poster"),
                "backdrop_path": self._image(index, "coll-backdrop"),
            }
        country = _COUNTRIES[language]
        payload = {
            "adult": item["adult"],
            "backdrop_path": item["backdrop_path"],
            "belongs_to_collection": collection,
            "budget": budget,
            "genres": [{"id": g, "name": GENRE_NAMES[g]} for g in item["genre_ids"]],
            "homepage": "" if index % 3 else f"https://movies.example.org/{movie_id}",
            "id": movie_id,
            "imdb_id": None if _hash(seed, index, "imdb") % 10 == 0 else f"tt{1_000_000 + index:07d}",
            "origin_country": [country],
            "original_language": language,
            "original_title": item["original_title"],
            "overview": item["overview"],
            "popularity": item["popularity"],
            "poster_path": item["poster_path"],
            "production_companies": [
                {
                    "id": 1000 + _hash(seed, index, "co", j) % 5000,
                    "logo_path": None if j else self._image(index, "logo"),
                    "name": f"{_NOUNS[_hash(seed, index, 'co-name', j) % len(_NOUNS)]} Pictures",
                    "origin_country": "" if j == 2 else country,
                }
                for j in range(_hash(seed, index, "co-count") % 4)
            ],
            "production_countries": [{"iso_3166_1": country, "name": country}],
            "release_date": release.isoformat(),
            "revenue": revenue,
            "runtime": runtime,
            "softcore": False,
            "spoken_languages": [{"english_name": _LANGUAGE_NAMES[language], "iso_639_1": language, "name": _LANGUAGE_NAMES[language]}],
            "status": status,
            "tagline": "" if index % 4 == 0 else "Some stories never end.",
            "title": item["title"],
            "video": False,
            "vote_average": item["vote_average"],
            "vote_count": item["vote_count"],
        }
        for name in append:
            section = self._appended(index, movie_id, name, now)
            if section is not None:
                payload[name] = section
        return payload

    def _appended(self, index: int, movie_id: int, name: str, now: float) -> dict | None:
        if name == "credits":
            return self.credits(index)
        if name == "keywords":
            return {
                "keywords": [
                    {
                        "id": 200 + _hash(self.seed, index, "kw", j) % 9000,
                        "name": _NOUNS[_hash(self.seed, index, "kwn", j) % len(_NOUNS)].lower(),
                    }
                    for j in range(_hash(self.seed, index, "kw-count") % 5)
                ]
            }
        if name == "reviews":
            return self.review_page(movie_id, 1, now)
        if name == "release_dates":
            release = self.release_date(index)
            return {
                "results": [
                    {
                        "iso_3166_1": _COUNTRIES[self.language(index)],
                        "release_dates": [
                            {
                                "certification": ("", "PG", "PG-13", "R")[index % 4],
                                "descriptors": [],
                                "iso_639_1": "",
                                "note": "",
                                "release_date": f"{release.isoformat()}T00:00:00.000Z",
                                "type": 3,
                            }
                        ],
                    }
                ]
            }
        return None  # TMDB's behaviour for unknown names is unverified; the simulator leaves them out

    def credits(self, index: int) -> dict:
        seed = self.seed

        def person(j: int, role: str) -> dict:
            person_id = 50_000 + _hash(seed, index, role, j) % 900_000
            name = f"{_FIRST_NAMES[_hash(seed, person_id, 'f') % len(_FIRST_NAMES)]} {_LAST_NAMES[_hash(seed, person_id, 'l') % len(_LAST_NAMES)]}"
            return {
                "adult": False,
                "gender": _hash(seed, person_id, "g") % 4,
                "id": person_id,
                "known_for_department": "Acting" if role == "cast" else "Directing",
                "name": name,
                "original_name": name,
                "popularity": round(0.5 + 30 * _unit(seed, person_id, "pp"), 3),
                "profile_path": None if _hash(seed, person_id, "pf") % 2 else f"/{_hex24(seed, person_id)[:27]}.jpg",
                "credit_id": _hex24(seed, index, role, j, "credit"),
            }

        cast = [
            {**person(j, "cast"), "cast_id": j + 1, "character": "" if j > 5 else f"Character {j + 1}", "order": j}
            for j in range(3 + _hash(seed, index, "cast-count") % 6)
        ]
        jobs = (("Directing", "Director"), ("Writing", "Screenplay"), ("Production", "Producer"), ("Sound", "Original Music Composer"))
        crew = [{**person(j, "crew"), "department": d, "job": job} for j, (d, job) in enumerate(jobs[: 2 + index % 3])]
        return {"cast": cast, "crew": crew}

    # ---- lists ----------------------------------------------------------------------------
    def _excluded(self, index: int, now: float, include_adult: bool) -> bool:
        return (not include_adult and self.is_adult(index)) or self.is_deleted(index, now)

    def count_listed(self, lo: int, hi: int, now: float, include_adult: bool) -> int:
        """How many movies of the index range [lo, hi) discover lists at ``now``."""
        if hi <= lo:
            return 0
        count = hi - lo
        if not include_adult:
            count -= _count_residue(lo, hi, ADULT_MODULUS, ADULT_RESIDUE)
        first = lo + (DELETABLE_RESIDUE - lo) % DELETABLE_MODULUS
        count -= sum(1 for i in range(first, hi, DELETABLE_MODULUS) if self.is_deleted(i, now))
        return count

    def listed_slice(self, lo: int, hi: int, start: int, length: int, now: float, include_adult: bool, descending: bool) -> list[int]:
        """Indexes of listed movies at ranks [start, start + length) of [lo, hi) in index order."""
        total = self.count_listed(lo, hi, now, include_adult)
        if start >= total:
            return []
        if descending:
            ranks = range(total - 1 - start, max(-1, total - 1 - start - length), -1)
        else:
            ranks = range(start, min(total, start + length))
        first_rank = min(ranks)
        # smallest position p with count_listed(lo, p + 1) > first_rank, by bisection
        a, b = lo, hi - 1
        while a < b:
            mid = (a + b) // 2
            if self.count_listed(lo, mid + 1, now, include_adult) > first_rank:
                b = mid
            else:
                a = mid + 1
        picked: list[int] = []
        position = a
        while len(picked) < len(ranks) and position < hi:
            if not self._excluded(position, now, include_adult):
                picked.append(position)
            position += 1
        return picked[::-1] if descending else picked

    def ranked_by_popularity(self, lo: int, hi: int, now: float, include_adult: bool) -> list[int]:
        """Listed indexes of [lo, hi) by popularity, highest first (O(range); fine for lists of
        moderate size, which is how the simulator is used with popularity sorting)."""
        listed = [i for i in range(lo, hi) if not self._excluded(i, now, include_adult)]
        return sorted(listed, key=lambda i: (-self.popularity(i, now), i))

    # ---- change feed ----------------------------------------------------------------------
    def changed_ids(self, start: float, end: float, now: float) -> list[int]:
        """Ids of movies updated (or deleted) in [start, min(end, now)], sorted by id."""
        return [self.movie_id(i) for i in self._changes_cache(start, min(end, now))]

    def _changed_indexes_uncached(self, start: float, stop: float) -> tuple[int, ...]:
        if stop < start:
            return ()
        # Only movies whose phase falls in the window (mod the period) can have updated in it;
        # enumerate exactly those instead of scanning the catalogue.
        offset_lo = (start - EPOCH) % UPDATE_PERIOD
        width = stop - start
        slot_s = UPDATE_PERIOD / PHASE_SLOTS
        if width >= UPDATE_PERIOD:
            slots = range(PHASE_SLOTS)
        else:
            first_slot = math.floor(offset_lo / slot_s)
            slots = [(first_slot + j) % PHASE_SLOTS for j in range(math.ceil(width / slot_s) + 2)]
        changed: list[int] = []
        for slot in set(slots):
            first = ((slot - self.seed) * self._slot_inverse) % PHASE_SLOTS
            for index in range(first, self.size, PHASE_SLOTS):
                if self._updated_within(index, start, stop):
                    changed.append(index)
        changed.sort()
        return tuple(changed)

    def _updated_within(self, index: int, start: float, stop: float) -> bool:
        phase_start = EPOCH + self.phase(index)
        k = max(0, math.ceil((start - phase_start) / UPDATE_PERIOD))
        last = self.deletion_update(index)
        if last is not None and k > last:
            return False
        return phase_start + k * UPDATE_PERIOD <= stop

    def change_rows(self, start: float, end: float, now: float) -> list[dict]:
        """``/movie/changes`` rows; deleted movies have ``adult: null`` as often seen at TMDB."""
        rows = []
        for movie_id in self.changed_ids(start, end, now):
            index = self.index_of(movie_id)
            deleted = self.is_deleted(index, now)
            rows.append({"id": movie_id, "adult": None if deleted else self.is_adult(index), "softcore": False})
        return rows

    # ---- the daily ID export --------------------------------------------------------------
    @staticmethod
    def export_snapshot_time(day: date) -> float:
        """The instant a day's export describes: TMDB's export job starts about 07:00 UTC."""
        return datetime.combine(day, datetime.min.time(), UTC).timestamp() + EXPORT_SNAPSHOT_S

    @staticmethod
    def export_published(day: date, now: float) -> bool:
        """Whether ``movie_ids_<day>.json.gz`` can be downloaded at ``now``: from 08:00 UTC that day, for 3 months."""
        midnight = datetime.combine(day, datetime.min.time(), UTC).timestamp()
        return midnight + EXPORT_PUBLISHED_S <= now < midnight + EXPORT_PUBLISHED_S + EXPORT_RETENTION_S

    def export_lines(self, day: date) -> Iterator[dict]:
        """The day's movie ID export, line by line: every movie not deleted by the snapshot (adult ones flagged), in
        an order that is not by id (a stride through the catalogue coprime with its size, so each movie comes once)."""
        at = self.export_snapshot_time(day)
        stride = next(n for n in range(_EXPORT_STRIDE, _EXPORT_STRIDE + self.size + 2) if math.gcd(n, self.size) == 1)
        offset = _hash(self.seed, day.isoformat(), "export-order") % self.size
        for k in range(self.size):
            i = (offset + k * stride) % self.size
            if not self.is_deleted(i, at):
                yield {"adult": self.is_adult(i), "id": self.movie_id(i), "original_title": self.original_title(i),
                       "popularity": self.popularity(i, at), "video": False}  # fmt: skip

    def export_ids(self, day: date, include_adult: bool = False) -> list[int]:
        """The ids of the day's export (ground truth), by id."""
        at = self.export_snapshot_time(day)
        return [self.movie_id(i) for i in range(self.size) if not self._excluded(i, at, include_adult)]

    # ---- ground truth helpers -------------------------------------------------------------
    def listed_ids(self, now: float, gte: date | None = None, lte: date | None = None, include_adult: bool = False) -> list[int]:
        """Every id discover lists at ``now`` for a release-date window (ground truth)."""
        lo, hi = self.index_range(gte, lte)
        return [self.movie_id(i) for i in range(lo, hi) if not self._excluded(i, now, include_adult)]


def _count_residue(lo: int, hi: int, modulus: int, residue: int) -> int:
    """How many integers in [lo, hi) are congruent to residue mod modulus."""

    def upto(n: int) -> int:  # count in [0, n)
        return (n - residue + modulus - 1) // modulus if n > residue else 0

    return upto(hi) - upto(lo)


def paginate(results: list, page: int, page_size: int) -> dict:
    """TMDB's page envelope over a full result list (``total_pages`` is 1 when empty)."""
    total = len(results)
    start = (page - 1) * page_size
    return {
        "page": page,
        "results": results[start : start + page_size],
        "total_pages": max(1, math.ceil(total / page_size)),
        "total_results": total,
    }
