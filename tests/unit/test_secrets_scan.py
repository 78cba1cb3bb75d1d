"""The log search for secrets: which files count as logs, raw and URL-encoded forms, names not values."""

from movie_pipeline.secrets_scan import find_secrets

KEY = "mp_secret/with+chars="


def test_secrets_are_found_raw_and_url_encoded_in_log_files_only(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "api.log").write_text("started\nGET /v1/movies X-API-Key: mp_secret/with+chars=\n")
    task_log = tmp_path / "airflow" / "logs" / "dag_id=movie_batch" / "run_id=x" / "task_id=ingest"
    task_log.mkdir(parents=True)
    (task_log / "attempt=1").write_text('{"event": "GET https://api.themoviedb.org/3/movie/1?api_key=mp_secret%2Fwith%2Bchars%3D"}\n')
    (tmp_path / "kafka" / "data" / "topic-0").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "topic-0" / "00000000000000000000.log").write_text(KEY)  # a segment: records, not a log
    (tmp_path / "api-key").write_text(KEY)  # a credentials file is not a log
    (tmp_path / "clean.log").write_text("nothing here\n")

    leaks, searched = find_secrets([tmp_path], {"API key": KEY, "unset": ""})
    assert searched == 3
    assert sorted((leak.secret, leak.path.name, leak.line) for leak in leaks) == [("API key", "api.log", 2), ("API key", "attempt=1", 1)]
    assert all(KEY not in str(leak) for leak in leaks)
