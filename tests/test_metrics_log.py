import json

from ponder.train.metrics_log import open_metrics


def test_a_resumed_run_drops_the_rows_logged_after_its_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 8)))
    with open_metrics(path, resumed_at=5) as log:  # killed at step 7, last checkpoint at step 5
        log.write(json.dumps({"step": 6, "loss": 0.5}) + "\n")
    steps = [json.loads(line)["step"] for line in path.read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    with open_metrics(path, resumed_at=0):  # a fresh run in the same folder starts a fresh log
        pass
    assert path.read_text() == ""
    assert not (tmp_path / "metrics.jsonl.tmp").exists()
