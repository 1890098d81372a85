from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = readme.split("## Quickstart", 1)[1].split("```bash\n")[1:3]
    commands = [b.split("\n```", 1)[0].strip() for b in blocks]
    assert len(commands) == 2
    assert commands[1] in ci.splitlines()


def test_readme_file_tree_names_every_module():
    readme = (ROOT / "README.md").read_text()
    for path in (ROOT / "src" / "ponder").rglob("*.py"):
        if path.name == "__init__.py" and path.parent.name != "tasks":
            continue
        rel = path.relative_to(ROOT / "src" / "ponder").as_posix()
        assert rel in readme, f"README file tree misses {rel}"
