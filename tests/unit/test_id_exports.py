"""Reading TMDB's daily ID export: gzip in pieces, line by line, bad lines kept apart."""

from __future__ import annotations

import gzip
import io
import json
from datetime import date

import pytest

from movie_pipeline.tmdb import exports
from movie_pipeline.tmdb.exports import export_name, read_export


def test_the_file_of_a_day_is_named_as_tmdb_names_it():
    assert export_name(date(2026, 7, 9)) == "movie_ids_07_09_2026.json.gz"


def test_lines_are_read_across_pieces_and_bad_ones_kept_apart(monkeypatch):
    monkeypatch.setattr(exports, "READ_BYTES", 7)  # lines cut across many reads
    lines = [
        {"adult": False, "id": 11, "original_title": "Star Wars", "popularity": 61.2, "video": False},
        {"adult": True, "id": 12, "original_title": "x", "popularity": 1.0, "video": False},
        {"adult": False, "id": 13, "original_title": "Making of", "popularity": 0.6, "video": True},
        {"adult": False, "id": "14", "original_title": "a string id"},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n{not json\n" + json.dumps({"id": 15, "adult": False})
    read = list(read_export(io.BytesIO(gzip.compress(text.encode()))))
    assert [line.number for line in read] == [1, 2, 3, 4, 6, 7]
    assert [line.movie_id for line in read] == [11, 12, 13, None, None, 15]
    assert [line.wanted for line in read] == [True, False, False, False, False, True]
    assert read[4].text == "{not json" and read[4].record is None


def test_a_truncated_download_is_refused():
    whole = gzip.compress(b"".join(json.dumps({"id": i}).encode() + b"\n" for i in range(1, 2000)))
    with pytest.raises(ValueError, match="truncated"):
        list(read_export(io.BytesIO(whole[: len(whole) // 2])))
