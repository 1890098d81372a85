import json

from ponder.cli import main
from ponder.eval.run import EvalConfig, run_eval, scaling_table


def test_eval_json_shape_files_and_plots(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["eval", "--model", str(tiny_checkpoint), "--tasks", "arithmetic,countdown", "--levels", "1,5",
                 "--efforts", "none,high", "--budgets", "4", "--n", "2", "--seed", "3", "--out", str(out),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == str(tiny_checkpoint) and doc["seed"] == 3
    assert len(doc["results"]) == 2 * 2 * 3
    keys = {"task", "level", "effort", "n", "accuracy", "mean_thinking_tokens", "mean_answer_tokens", "seconds"}
    assert all(keys <= set(r) for r in doc["results"])
    assert {r["effort"] for r in doc["results"]} == {"none", "high", "budget=4"}
    assert all(r["mean_thinking_tokens"] == 0 for r in doc["results"] if r["effort"] == "none")
    lines = (out / "results.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == doc["results"]
    for name in ("scaling.png", "effort.png", "adaptive.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert "| arithmetic | 5 |" in (out / "report.md").read_text()


def test_the_issue_command_runs_with_default_budgets_and_efforts_can_be_empty(tiny_checkpoint, tmp_path, capsys):
    # `--budgets` defaults to '' (no budgets): a strict comma-list parser once refused the default, so every
    # `ponder eval` without --budgets exited with a usage error.
    argv = ["eval", "--model", str(tiny_checkpoint), "--tasks", "arithmetic,countdown", "--levels", "5", "--n", "1",
            "--out", str(tmp_path / "ev"), "--json"]
    assert main([*argv, "--efforts", "none,high", "--seed", "11"]) == 0
    assert {r["effort"] for r in json.loads(capsys.readouterr().out)["results"]} == {"none", "high"}
    assert main([*argv, "--efforts", "", "--budgets", "3"]) == 0
    assert {r["effort"] for r in json.loads(capsys.readouterr().out)["results"]} == {"budget=3"}


def test_samples_give_pass_and_maj_curves(tiny_checkpoint, tmp_path):
    doc = run_eval(EvalConfig(model=str(tiny_checkpoint), tasks=("arithmetic",), levels=(1,), efforts=("low",),
                              n=2, samples=4, out=str(tmp_path), plots=False))
    row = doc["results"][0]
    assert set(row["pass_at"]) == {"1", "2", "4"} and set(row["maj_at"]) == {"1", "2", "4"}
    assert row["pass_at"]["1"] == row["accuracy"]
    assert row["pass_at"]["1"] <= row["pass_at"]["2"] <= row["pass_at"]["4"]


def test_scaling_table_has_a_row_per_effort():
    rows = [{"task": "t", "level": lvl, "effort": e, "budget": b, "accuracy": a, "mean_thinking_tokens": b / 2}
            for e, b, a in (("none", 0, 0.1), ("high", 100, 0.9)) for lvl in (1, 5)]
    table = scaling_table({"results": rows})
    assert table.splitlines()[2].startswith("none") and "90% (50 tok)" in table.splitlines()[3]


def test_bad_eval_input(capsys):
    for argv in (["eval", "--levels", "0"], ["eval", "--tasks", "nope", "--model", "/x"], ["eval", "--n", "0"]):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
        assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_samples_of_one_problem_differ(tiny_checkpoint, monkeypatch):
    import ponder.eval.grid as grid
    from ponder.ask import load

    seen = []
    real = grid.generate

    def spy(model, tok, prompts, params, **kw):
        out = real(model, tok, prompts, params, **kw)
        seen.extend(c.token_ids for c in out)
        return out

    monkeypatch.setattr(grid, "generate", spy)
    model, tok, meta, _ = load(str(tiny_checkpoint))
    grid.run_grid(model, tok, ["arithmetic"], [1], {"low": 8}, n=1, seed=0, samples=4, temperature=1.0)
    assert len(seen) == 4 and len({tuple(s) for s in seen}) > 1


def test_a_budget_past_the_models_context_is_refused_before_any_decoding(tiny_checkpoint, tmp_path, capsys):
    context = json.loads((tiny_checkpoint / "config.json").read_text())["max_position_embeddings"]
    argv = ["eval", "--model", str(tiny_checkpoint), "--tasks", "arithmetic", "--levels", "1", "--efforts", "",
            "--budgets", f"8,{context}", "--n", "1", "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"budget={context} is {context} thinking tokens" in err and "Traceback" not in err
    assert not (tmp_path / "e").exists()  # refused before anything was written


def test_the_token_axis_has_zero_and_powers_of_ten_up_to_the_data():
    from ponder.eval.plots import _token_ticks

    assert _token_ticks(0) == ([0, 10], ["0", "10"])
    assert _token_ticks(1506) == ([0, 10, 100, 1000], ["0", "10", "100", "1,000"])


def test_one_legend_under_the_panels_names_every_level_in_one_colour_each(tmp_path, monkeypatch):
    from ponder.eval import plots

    seen = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: seen.append(fig) or path)
    rows = [{"task": task, "level": level, "effort": effort, "budget": budget, "accuracy": 0.5,
             "mean_thinking_tokens": budget / 2}
            for task, levels in (("arithmetic", (2,)), ("countdown", (1, 2)))
            for level in levels for effort, budget in (("none", 0), ("high", 64))]
    plots.plot_scaling(rows, tmp_path / "s.png", "t")
    fig = seen[0]
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["level 1", "level 2"]
    arithmetic, countdown = fig.axes
    # level 2 has one colour in both panels, though it is the first line of one and the second of the other
    assert arithmetic.lines[0].get_color() == countdown.lines[1].get_color() != countdown.lines[0].get_color()


def test_min_thinking_reaches_the_engine_capped_by_each_budget(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import ponder.eval.grid as grid

    floors = []

    def recording_generate(model, tokenizer, prompts, params, **kw):
        floors.append({p.min_thinking for p in params})
        return real_generate(model, tokenizer, prompts, params, **kw)

    real_generate = grid.generate
    monkeypatch.setattr(grid, "generate", recording_generate)
    argv = ["eval", "--model", str(tiny_checkpoint), "--tasks", "arithmetic", "--levels", "1", "--n", "2",
            "--efforts", "none", "--budgets", "6,20", "--out", str(tmp_path / "ev"), "--json"]
    assert main(argv) == 0
    assert all(r["min_thinking"] == 0 for r in json.loads(capsys.readouterr().out)["results"])
    assert floors == [{0}, {0}, {0}]
    floors.clear()
    assert main([*argv, "--min-thinking", "12"]) == 0
    rows = {r["effort"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert [rows[e]["min_thinking"] for e in ("none", "budget=6", "budget=20")] == [0, 6, 12]
    assert floors == [{0}, {6}, {12}]
    assert rows["none"]["mean_thinking_tokens"] == 0
    assert "--min-thinking 12" in (tmp_path / "ev" / "report.md").read_text()


def test_a_negative_min_thinking_is_a_usage_error(capsys):
    try:
        code = main(["eval", "--min-thinking", "-3"])
    except SystemExit as e:
        code = e.code
    assert code == 2 and "must be >= 0" in capsys.readouterr().err
