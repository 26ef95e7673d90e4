"""Check that dbt docs describe everything: every model, seed, snapshot,
analysis, source, exposure, macro and generic test of the project, and every
column a model, seed or source really has (from the catalog, so a column
missing from the YAML is caught too).

``python -m tools.docs_check [--target target]`` reads
``manifest.json`` and ``catalog.json`` written by ``dbt docs generate``,
prints one line per missing description and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PROJECT = "segmentation_warehouse"
DESCRIBED_NODES = ("model", "seed", "snapshot", "analysis")
NODES_WITH_COLUMNS = ("model", "seed", "snapshot")


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _column_problems(
    kind: str, name: str, node: dict, catalog_entry: dict | None
) -> list[str]:
    documented = {
        column_name.lower(): column.get("description", "")
        for column_name, column in node.get("columns", {}).items()
    }
    actual = {
        column_name.lower() for column_name in (catalog_entry or {}).get("columns", {})
    }
    return [
        f"{kind} {name}: column {column} has no description"
        for column in sorted(actual | set(documented))
        if _blank(documented.get(column))
    ]


def undocumented(manifest: dict, catalog: dict, project: str = PROJECT) -> list[str]:
    """Every missing description, as readable lines (empty when complete)."""
    problems: list[str] = []
    for unique_id, node in sorted(manifest.get("nodes", {}).items()):
        kind = node.get("resource_type")
        if node.get("package_name") != project or kind not in DESCRIBED_NODES:
            continue
        if _blank(node.get("description")):
            problems.append(f"{kind} {node['name']}: no description")
        if kind in NODES_WITH_COLUMNS:
            problems += _column_problems(
                kind, node["name"], node, catalog.get("nodes", {}).get(unique_id)
            )
    for unique_id, source in sorted(manifest.get("sources", {}).items()):
        if source.get("package_name") != project:
            continue
        name = f"{source['source_name']}.{source['name']}"
        if _blank(source.get("source_description")):
            problems.append(f"source {source['source_name']}: no description")
        if _blank(source.get("description")):
            problems.append(f"source {name}: no description")
        problems += _column_problems(
            "source", name, source, catalog.get("sources", {}).get(unique_id)
        )
    for exposure in manifest.get("exposures", {}).values():
        if exposure.get("package_name") == project and _blank(
            exposure.get("description")
        ):
            problems.append(f"exposure {exposure['name']}: no description")
    for macro in manifest.get("macros", {}).values():
        if macro.get("package_name") == project and _blank(macro.get("description")):
            kind = "generic test" if macro["name"].startswith("test_") else "macro"
            problems.append(f"{kind} {macro['name']}: no description")
    return sorted(set(problems))


def check(target: Path) -> list[str]:
    """Problems found in target/manifest.json and target/catalog.json."""
    manifest = json.loads((target / "manifest.json").read_text())
    catalog_path = target / "catalog.json"
    catalog = json.loads(catalog_path.read_text()) if catalog_path.exists() else {}
    return undocumented(manifest, catalog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.docs_check",
        description="Fail when a model, column, seed or macro has no description.",
    )
    parser.add_argument("--target", type=Path, default=Path("target"))
    args = parser.parse_args(argv)
    if not (args.target / "manifest.json").exists():
        print(f"error: no {args.target}/manifest.json: run `dbt docs generate` first")
        return 1
    problems = check(args.target)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} missing descriptions")
        return 1
    print("every model, column, seed, source, exposure and macro is described")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
