"""Peak resident memory (RSS) of one `ponder ask` process on the shipped model, at high effort.

Writes benchmarks/results/ask_memory.json. Reproduce with:
    python benchmarks/ask_memory.py --model ponder-tiny-sft
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

from results_io import write_results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft")
    parser.add_argument("--question", default="What is 482 * 317?")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "ponder.cli", "ask", args.question, "--model", args.model, "--effort", "high",
           "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    doc = {"model": args.model, "question": args.question, "peak_rss_mib": round(peak_kib / 1024, 1),
           "answer": json.loads(out.stdout)["answer"],
           "command": "python benchmarks/ask_memory.py " + " ".join(sys.argv[1:])}
    print(json.dumps(doc))
    write_results("ask_memory", doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
