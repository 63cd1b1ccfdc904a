"""Function lengths in a source tree: how many functions, their median and mean length in lines
(from `def` to the last line of the body, docstring included), and the longest.

    python scripts/function_lengths.py src/joinedup
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path


def function_lengths(root: Path) -> list[tuple[int, str]]:
    """(length in lines, "path:line name") of every function and method under `root`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((length, f"{path}:{node.lineno} {node.name}"))
    return found


def main(root: str) -> None:
    found = function_lengths(Path(root))
    lengths = [length for length, _ in found]
    print(
        f"{len(lengths)} functions; median {statistics.median(lengths)} lines, mean "
        f"{statistics.mean(lengths):.1f}"
    )
    for length, where in sorted(found, reverse=True)[:10]:
        print(f"{length:5d}  {where}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src/joinedup")
