"""The layers only flow forward: checked over dbt's manifest.

The rules are written once here, as data, and once in prose in the README
("Project layout and conventions"). The layer of a model is its top folder
under models/; seeds under seeds/lookups are lookups, seeds/demo raw data.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_dbt

PROJECT = "segmentation_warehouse"

# The model layers, in the order data flows through them.
LAYERS = ("staging", "intermediate", "marts")

# The kind of every seed, by its folder under seeds/.
SEED_KINDS = {"lookups": "lookups", "demo": "raw"}

# What each kind of reader may read (depends_on), by the kind of what it
# reads: a source, a model layer, or a kind of seed. Only staging reads
# sources; staging may check raw values against lookups (the campaign
# definitions' target values); marts read intermediate models and lookups,
# and a mart marked config.meta.rollup_of_final_tables (a documented
# roll-up of the final tables) may also read marts that are not roll-ups
# themselves.
MAY_READ: dict[str, frozenset[str]] = {
    "staging": frozenset({"source", "staging", "lookups"}),
    "intermediate": frozenset({"staging", "intermediate", "lookups"}),
    "marts": frozenset({"intermediate", "lookups"}),
    "roll-up": frozenset({"intermediate", "lookups", "marts"}),
    "exposure": frozenset({"marts", "lookups"}),
}

# Fits and assignments are intermediate steps: every Python model is there.
PYTHON_MODEL_LAYER = "intermediate"

# The meta key that marks a mart as a roll-up of the final tables.
ROLLUP_META = "rollup_of_final_tables"


def _folder(node: dict[str, Any]) -> str:
    """The top folder of a node under its resource path (models/, seeds/)."""
    parts = Path(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 else ""


def _kind(node: dict[str, Any]) -> str:
    """The layer of a model, the kind of a seed, or "source"."""
    if node["resource_type"] == "source":
        return "source"
    if node["resource_type"] == "seed":
        folder = _folder(node)
        return SEED_KINDS.get(folder, f"seeds/{folder}")
    return _folder(node)


def _label(node: dict[str, Any]) -> str:
    if node["resource_type"] == "source":
        return f"source {node['source_name']}.{node['name']}"
    return f"{node['resource_type']} {node['name']}"


def _is_rollup(node: dict[str, Any]) -> bool:
    return bool(node.get("config", {}).get("meta", {}).get(ROLLUP_META))


def _reads(
    manifest: dict[str, Any], reader: dict[str, Any], reader_kind: str
) -> list[str]:
    problems = []
    known = {**manifest["nodes"], **manifest["sources"]}
    allowed = MAY_READ.get(reader_kind, frozenset())
    for unique_id in reader["depends_on"]["nodes"]:
        parent = known.get(unique_id)
        if parent is None or parent.get("package_name") != PROJECT:
            continue
        parent_kind = _kind(parent)
        if parent_kind not in allowed:
            problems.append(
                f"{_label(reader)} ({reader_kind}) reads {_label(parent)}"
                f" ({parent_kind})"
            )
        elif reader_kind == "roll-up" and parent_kind == "marts" and _is_rollup(parent):
            problems.append(
                f"{_label(reader)} ({reader_kind}) reads roll-up"
                f" {_label(parent)}: roll-ups read only marts that are not"
                " roll-ups"
            )
    return problems


def layering_violations(manifest: dict[str, Any]) -> list[str]:
    """Every broken layering rule of the project, one line each."""
    problems: list[str] = []
    for node in manifest["nodes"].values():
        if node["package_name"] != PROJECT or node["resource_type"] != "model":
            continue
        layer = _kind(node)
        name = node["name"]
        if layer not in LAYERS:
            problems.append(
                f"model {name} is under models/{layer}/, not in a layer folder"
                f" ({', '.join(LAYERS)})"
            )
            continue
        if node["schema"] != layer:
            problems.append(
                f"model {name} is built in schema {node['schema']}, not {layer}"
            )
        if node["language"] == "python" and layer != PYTHON_MODEL_LAYER:
            problems.append(
                f"model {name} is a Python model in {layer}: Python models"
                f" (fits and assignments) belong in {PYTHON_MODEL_LAYER}"
            )
        if _is_rollup(node) and layer != "marts":
            problems.append(f"model {name} is marked {ROLLUP_META} outside marts")
        reader_kind = "roll-up" if layer == "marts" and _is_rollup(node) else layer
        problems += _reads(manifest, node, reader_kind)
    for exposure in manifest["exposures"].values():
        if exposure["package_name"] == PROJECT:
            problems += _reads(manifest, exposure, "exposure")
    return sorted(problems)


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real project's manifest, from dbt parse."""
    workdir = tmp_path_factory.mktemp("layering")
    parsed = run_dbt(workdir, "parse")
    assert parsed.returncode == 0, parsed.output[-3000:]
    return json.loads((workdir / "target" / "manifest.json").read_text())


def _model(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return manifest["nodes"][f"model.{PROJECT}.{name}"]


def test_the_project_follows_the_layering_rules(manifest: dict[str, Any]) -> None:
    assert layering_violations(manifest) == []


def test_the_layers_are_what_the_rules_expect(manifest: dict[str, Any]) -> None:
    # The checker sees every layer and kind of seed, so no rule is vacuous.
    kinds = {
        _kind(node)
        for node in manifest["nodes"].values()
        if node["package_name"] == PROJECT
        and node["resource_type"] in ("model", "seed")
    }
    assert kinds == set(LAYERS) | {"lookups", "raw"}
    python_models = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["language"] == "python"
    ]
    assert "int_users_segmented" in python_models
    assert "int_users_clustered" in python_models
    rollups = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and _is_rollup(node)
    )
    assert rollups == [
        "activity_tiers",
        "cluster_overview",
        "population_summary",
        "primary_segment_sizes_over_time",
        "primary_segments",
        "rfm_grid",
        "segment_quality",
        "value_activity_matrix",
    ]


def _add_parent(manifest: dict[str, Any], child: str, parent: str) -> None:
    _model(manifest, child)["depends_on"]["nodes"].append(parent)


def _staging_reads_a_mart(manifest: dict[str, Any]) -> None:
    _add_parent(manifest, "stg_app__orders", f"model.{PROJECT}.user_segments")


def _intermediate_reads_a_source(manifest: dict[str, Any]) -> None:
    _add_parent(manifest, "int_users_unioned", f"source.{PROJECT}.app.orders")


def _mart_reads_staging(manifest: dict[str, Any]) -> None:
    _add_parent(manifest, "user_profiles", f"model.{PROJECT}.stg_app__orders")


def _mart_reads_a_mart(manifest: dict[str, Any]) -> None:
    _add_parent(manifest, "user_profiles", f"model.{PROJECT}.user_clv")


def _rollup_reads_a_rollup(manifest: dict[str, Any]) -> None:
    _add_parent(manifest, "segment_quality", f"model.{PROJECT}.rfm_grid")


def _rollup_outside_marts(manifest: dict[str, Any]) -> None:
    _model(manifest, "int_users_valued")["config"]["meta"][ROLLUP_META] = True


def _python_model_in_marts(manifest: dict[str, Any]) -> None:
    node = _model(manifest, "user_clv")
    node["language"] = "python"
    node["original_file_path"] = "models/marts/clv/user_clv.py"


def _schema_is_not_the_layer(manifest: dict[str, Any]) -> None:
    _model(manifest, "stg_app__users")["schema"] = "marts"


def _model_under_utilities(manifest: dict[str, Any]) -> None:
    node = copy.deepcopy(_model(manifest, "int_date_spine"))
    node.update(
        name="util_fixture",
        unique_id=f"model.{PROJECT}.util_fixture",
        original_file_path="models/utilities/util_fixture.sql",
        schema="utilities",
    )
    node["depends_on"]["nodes"] = []
    manifest["nodes"][node["unique_id"]] = node


def _exposure_reads_intermediate(manifest: dict[str, Any]) -> None:
    exposure = manifest["exposures"][f"exposure.{PROJECT}.segment_report"]
    exposure["depends_on"]["nodes"].append(f"model.{PROJECT}.int_users_featurized")


BROKEN_RULES = [
    (
        _staging_reads_a_mart,
        "model stg_app__orders (staging) reads model user_segments (marts)",
    ),
    (
        _intermediate_reads_a_source,
        "model int_users_unioned (intermediate) reads source app.orders (source)",
    ),
    (
        _mart_reads_staging,
        "model user_profiles (marts) reads model stg_app__orders (staging)",
    ),
    (
        _mart_reads_a_mart,
        "model user_profiles (marts) reads model user_clv (marts)",
    ),
    (
        _rollup_reads_a_rollup,
        "model segment_quality (roll-up) reads roll-up model"
        " rfm_grid: roll-ups read only marts that are not roll-ups",
    ),
    (
        _rollup_outside_marts,
        f"model int_users_valued is marked {ROLLUP_META} outside marts",
    ),
    (
        _python_model_in_marts,
        "model user_clv is a Python model in marts: Python models (fits"
        " and assignments) belong in intermediate",
    ),
    (
        _schema_is_not_the_layer,
        "model stg_app__users is built in schema marts, not staging",
    ),
    (
        _model_under_utilities,
        "model util_fixture is under models/utilities/, not in a layer"
        " folder (staging, intermediate, marts)",
    ),
    (
        _exposure_reads_intermediate,
        "exposure segment_report (exposure) reads model int_users_featurized"
        " (intermediate)",
    ),
]


@pytest.mark.parametrize(
    ("break_a_rule", "violation"),
    [
        pytest.param(rule, violation, id=rule.__name__.lstrip("_"))
        for rule, violation in BROKEN_RULES
    ],
)
def test_the_check_reports_a_broken_rule(
    manifest: dict[str, Any], break_a_rule, violation: str
) -> None:
    broken = copy.deepcopy(manifest)
    break_a_rule(broken)
    assert layering_violations(broken) == [violation]
