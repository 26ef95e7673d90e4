"""The runtime package ``segmentation`` works as an installed wheel, without
the repository: what a user of another dbt adapter installs.

The wheel is built from a copy of the repository (so the build leaves no
``build/`` folder behind), installed without dependencies into a fresh
virtual environment that borrows the third-party packages of this one
through a ``.pth`` file (nothing is downloaded), and the functions the dbt
Python models call are run there, from a folder outside the repository, on
small inputs, with the settings the models get from the dbt vars.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

from segmentation.project import project_vars

# Not part of the wheel's build, and large or generated.
SKIPPED = (".venv", ".git", "warehouse", "bench", "target", "logs", "build", "dist")

# Run by the new environment's python, in a temporary folder.
SCRIPT = r"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import segmentation
from segmentation.dbt_python import clustering as cluster_glue
from segmentation.dbt_python import clv
from segmentation.dbt_python import segments as segment_glue
from segmentation.methods import btyd, clustering, segments

settings = json.loads(Path(sys.argv[1]).read_text())
out = {"file": segmentation.__file__, "path": sys.path}
rng = np.random.default_rng(7)

# BTYD: the summary of 300 customers simulated as BG/NBD assumes (a
# personal Poisson rate while alive, a dropout chance after each purchase),
# in weeks.
n = 300
rate = rng.gamma(0.8, 1 / 8.0, n)
dropout = rng.beta(1.0, 4.0, n)
age = rng.uniform(20.0, 100.0, n)
frequency, recency = np.zeros(n), np.zeros(n)
for i in range(n):
    t = rng.exponential(1 / rate[i])
    while t <= age[i]:
        frequency[i], recency[i] = frequency[i] + 1, t
        if rng.random() < dropout[i]:
            break
        t += rng.exponential(1 / rate[i])
monetary = np.where(frequency > 0, np.round(rng.gamma(4.0, 10.0, n), 2), 0.0)
bg = btyd.fit_bgnbd(frequency, recency, age)
gg = btyd.fit_gamma_gamma(frequency, monetary)
alive = btyd.probability_alive(bg, frequency, recency, age)
expected = btyd.expected_purchases(bg, 52.0, frequency, recency, age)
spend = btyd.expected_average_spend(gg, frequency, monetary)
out["btyd"] = {
    "converged": [bool(bg.converged), bool(gg.converged)],
    "params": [bg.r, bg.alpha, bg.a, bg.b, gg.p, gg.q, gg.v],
    "alive": [len(alive), float(np.min(alive)), float(np.max(alive))],
    "expected": [len(expected), float(np.min(expected))],
    "spend_positive": bool(np.all(np.asarray(spend)[frequency > 0] > 0)),
}

# The same through the Arrow glue of the CLV models.
users = [f"U{i:04d}" for i in range(n)]
summary = pa.table(
    {
        "user_id": users,
        "frequency": frequency,
        "recency": recency,
        "customer_age": age,
        "monetary_value": monetary,
        "historical_ltv": monetary * (frequency + 1),
    }
)
fits = clv.fits_table(summary)
clv_rows = clv.user_clv_table(summary, fits, settings["clv"]).to_pandas()
out["clv"] = {
    "fits": fits.column("model").to_pylist(),
    "converged": fits.column("converged").to_pylist(),
    "rows": len(clv_rows),
    "users": int(clv_rows["user_id"].nunique()),
    "alive_in_0_1": bool(clv_rows["probability_alive"].between(0, 1).all()),
    "sources": sorted(set(clv_rows["clv_source"])),
}

# Clustering: three well separated groups of purchasers.
groups = np.repeat([0, 1, 2], 60)
scale = np.array([1.0, 8.0, 60.0])[groups]
features = pd.DataFrame(
    {
        "user_id": [f"U{i:04d}" for i in range(len(groups))],
        "recency_days": rng.uniform(5, 30, len(groups)) * scale,
        "frequency": rng.poisson(3, len(groups)) + 10 / scale,
        "monetary": rng.gamma(5.0, 20.0, len(groups)) * scale,
        "average_order_value": rng.gamma(5.0, 5.0, len(groups)) * scale,
        "tenure_days": rng.uniform(100, 700, len(groups)),
        "sessions_90d": rng.poisson(5, len(groups)).astype(float),
        "browse_minutes_90d": rng.gamma(2.0, 10.0, len(groups)),
        "ctr_90d": rng.uniform(0, 0.3, len(groups)),
    }
)
config = clustering.ClusteringConfig.from_json(settings["clustering"])
prepared = clustering.prepare_features(features, config)
choice = clustering.choose_k(prepared.model_space, config)
feature_table = pa.Table.from_pandas(features, preserve_index=False)
k_scores = cluster_glue.k_selection_table(feature_table, settings["clustering"], None)
clusters = cluster_glue.user_clusters_table(
    feature_table, k_scores, settings["clustering"], None
)
centroids = cluster_glue.centroids_table(
    feature_table, clusters, settings["clustering"]
)
chosen = k_scores.to_pandas().query("is_chosen")
out["clustering"] = {
    "k": int(choice.k),
    "k_range": [config.k_min, config.k_max],
    "chosen": chosen["k"].tolist(),
    "rows": clusters.num_rows,
    "users": len(set(clusters.column("user_id").to_pylist())),
    "cluster_ids": sorted(set(clusters.column("cluster_id").to_pylist())),
    "centroid_rows": centroids.num_rows,
    "features": len(prepared.columns),
}

# Primary segments: one user per rule, and one no rule names.
profiles = pd.DataFrame(
    [
        ("u1", "churned", "high", "low", 400, 0),
        ("u2", "active", "high", "low", 10, 2),
        ("u3", "active", "low", "high", 12, 9),
        ("u4", "active", "medium", "low", 30, 1),
        ("u5", "new", "low", "low", 5, 0),
        ("u6", "prospect", "none", "low", None, 4),
        ("u7", "prospect", "none", "low", None, 0),
        ("u8", "lost", "none", "none", None, 0),
    ],
    columns=[
        "user_id",
        "lifecycle_stage",
        "value_tier",
        "activity_tier",
        "recency_days",
        "sessions_90d",
    ],
).assign(
    user_key=lambda frame: "k_" + frame["user_id"],
    as_of_date=pd.Timestamp("2026-10-01"),
    rfm_segment=None,
    historical_ltv=100.0,
    ctr_30d=0.1,
    is_opted_in_to_marketing=True,
)
no_clusters = pa.table(
    {
        "user_id": pa.array([], pa.string()),
        "cluster_id": pa.array([], pa.int32()),
        "cluster_label": pa.array([], pa.string()),
    }
)
rules = segments.SegmentRules.from_json(settings["segment_rules"])
assigned = segments.assign_segments(profiles, no_clusters.to_pandas(), rules)
table = segment_glue.segments_table(
    pa.Table.from_pandas(profiles, preserve_index=False),
    no_clusters,
    settings["segment_rules"],
).to_pandas()
out["segments"] = {
    "rows": len(table),
    "users": int(table["user_id"].nunique()),
    "by_user": dict(zip(table["user_id"], table["primary_segment"], strict=True)),
    "pure_by_user": dict(
        zip(assigned["user_id"], assigned["primary_segment"], strict=True)
    ),
    "reasons_filled": bool((table["segment_reason"].str.len() > 0).all()),
}

print(json.dumps(out))
"""


PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


def _settings() -> dict[str, str]:
    """The JSON settings the dbt Python models get in their config.meta
    (models/**/_*__models.yml), built from the dbt_project.yml vars."""
    v = project_vars(PROJECT_DIR)
    return {
        "clv": json.dumps(
            {
                "time_unit": v["btyd_time_unit"],
                "horizon_months": v["clv_horizon_months"],
                "discount_rate": v["clv_discount_rate"],
                "margin": v["ltv_margin"],
            }
        ),
        "clustering": json.dumps(
            {
                "features": v["cluster_features"],
                "log_features": v["cluster_log_features"],
                "k_min": v["cluster_k_min"],
                "k_max": v["cluster_k_max"],
                "sample_size": v["cluster_sample_size"],
                "keep_k_tolerance": v["cluster_keep_k_tolerance"],
                "minibatch_threshold": v["cluster_minibatch_threshold"],
                "pca_min_features": v["cluster_pca_min_features"],
                "pca_variance": v["cluster_pca_variance"],
                "random_state": v["cluster_random_state"],
            }
        ),
        "segment_rules": json.dumps(
            {
                "rules": v["primary_segment_rules"],
                "cluster_precedence": v["cluster_precedence"],
            }
        ),
    }


def _run(command: list[str], cwd: Path) -> str:
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    return completed.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "repo"
    shutil.copytree(
        PROJECT_DIR,
        source,
        ignore=shutil.ignore_patterns(*SKIPPED, "*.egg-info", "__pycache__"),
    )
    out = tmp_path_factory.mktemp("wheel")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(source),
        ],
        source,
    )
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtual environment holding only the wheel,
    with this environment's third-party packages on its path."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", str(env_dir)], env_dir.parent)
    python = env_dir / "bin" / "python"
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        env_dir,
    )
    site_packages = Path(
        _run(
            [str(python), "-c", PURELIB],
            env_dir,
        ).strip()
    )
    ours = sysconfig.get_paths()["purelib"]
    (site_packages / "borrowed_packages.pth").write_text(ours + "\n")
    return python


@pytest.fixture(scope="module")
def results(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("outside")
    script = folder / "check.py"
    script.write_text(SCRIPT)
    settings = folder / "settings.json"
    settings.write_text(json.dumps(_settings()))
    # -I: no PYTHONPATH, no user site, not the script's folder first either.
    output = _run([str(installed), "-I", str(script), str(settings)], folder)
    return json.loads(output.strip().splitlines()[-1])


def test_the_wheel_holds_the_runtime_package_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names}
    assert "segmentation" in packages
    assert "segmentation/dbt_python/clv.py" in names
    assert any(name.startswith("segmentation/methods/btyd") for name in names)
    for folder in ("tools", "pytests", "models", "tests", "macros", "seeds"):
        assert not any(name.startswith(f"{folder}/") for name in names), folder
    assert not [name for name in names if name.endswith((".sql", ".yml", ".csv"))]


def test_the_package_comes_from_the_wheel_not_the_repository(
    results: dict, installed: Path
) -> None:
    env_dir = installed.parent.parent
    assert Path(results["file"]).resolve().is_relative_to(env_dir.resolve())
    assert not any(
        entry and Path(entry).resolve() == PROJECT_DIR.resolve()
        for entry in results["path"]
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(requirements: list[str]) -> set[str]:
    """Distribution names of requirement lines."""
    names = set()
    for line in requirements:
        names.add(_canonical(re.split(r"[\s;<>=!~\[(]", line, maxsplit=1)[0]))
    return names


def test_the_package_imports_only_its_declared_dependencies(wheel: Path) -> None:
    """Every third-party import in the wheel is a declared dependency: the
    methods and the dbt glue need only the base dependencies (what another
    adapter installs), the application may also use its `app` extra (dbt,
    DuckDB, PyYAML). Read from the wheel's own files and METADATA."""
    archive = zipfile.ZipFile(wheel)
    metadata = next(n for n in archive.namelist() if n.endswith("METADATA"))
    lines = archive.read(metadata).decode().splitlines()
    requirements = [
        line.split(":", 1)[1].strip()
        for line in lines
        if line.startswith("Requires-Dist:")
    ]
    base = _requirements([line for line in requirements if "extra ==" not in line])
    app = _requirements(
        [line.split(";")[0] for line in requirements if 'extra == "app"' in line]
    )
    assert {"numpy", "pandas", "scikit-learn", "scipy"} <= base
    assert {"dbt-core", "duckdb", "pyyaml"} <= app
    owners = importlib.metadata.packages_distributions()
    problems = []
    for name in archive.namelist():
        if not name.endswith(".py"):
            continue
        tree = ast.parse(archive.read(name))
        modules = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and not node.level
        }
        allowed = (
            base
            if name.startswith(("segmentation/methods/", "segmentation/dbt_python/"))
            else base | app
        )
        for module in modules:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "segmentation":
                continue
            found = {_canonical(owner) for owner in owners.get(top, [top])}
            if not found & allowed:
                problems.append(f"{name} imports {module}")
    assert problems == []


def test_btyd_fits_and_predicts(results: dict) -> None:
    btyd = results["btyd"]
    assert btyd["converged"] == [True, True]
    assert all(value > 0 for value in btyd["params"])
    rows, low, high = btyd["alive"]
    assert rows == 300 and 0 <= low <= high <= 1 and low < high
    assert btyd["expected"][0] == 300 and btyd["expected"][1] >= 0
    assert btyd["spend_positive"]


def test_the_clv_glue_gives_one_prediction_per_purchaser(results: dict) -> None:
    clv = results["clv"]
    # Every transaction model of the registry, then Gamma-Gamma (issue 19).
    assert clv["fits"] == ["bg_nbd", "mbg_nbd", "pareto_nbd", "gamma_gamma"]
    assert clv["converged"] == [True, True, True, True]
    assert clv["rows"] == clv["users"] == 300
    assert clv["alive_in_0_1"]
    assert "bg_nbd_gamma_gamma" in clv["sources"]


def test_clustering_chooses_k_and_clusters_every_purchaser(results: dict) -> None:
    clustering = results["clustering"]
    k_min, k_max = clustering["k_range"]
    assert k_min <= clustering["k"] <= k_max
    assert clustering["chosen"] == [clustering["k"]]
    assert clustering["rows"] == clustering["users"] == 180
    assert clustering["cluster_ids"] == list(range(1, clustering["k"] + 1))
    assert clustering["features"] == 8
    assert clustering["centroid_rows"] == clustering["k"] * clustering["features"]


def test_every_user_gets_one_primary_segment_by_the_rules(results: dict) -> None:
    found = results["segments"]
    assert found["rows"] == found["users"] == 8
    assert found["by_user"] == found["pure_by_user"]
    assert found["by_user"] == {
        "u1": "dormant",
        "u2": "high_value",
        "u3": "active",
        "u4": "medium_value",
        "u5": "low_value",
        "u6": "potential",
        "u7": "prospect",
        "u8": "unassigned",
    }
    assert found["reasons_filled"]
