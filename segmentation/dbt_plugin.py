"""The project's dbt-duckdb plugin (profiles.yml ``plugins``): the raw-file
intake planner (:mod:`segmentation.intake`) as the SQL function
``segments_raw_file_plan(request)`` the loader hook calls
(``macros/register_raw_files.sql``).

The request is JSON (``data_dir``, ``contract``, ``settings``); the answer
is JSON, ``{"plan": ...}`` or ``{"error": "<message>"}``: the hook stops the
build with the message, so the user reads the planner's words, never a
Python traceback. Converted copies of raw files go to ``raw_copies`` beside
the warehouse file (:func:`segmentation.intake.copy_dir_for`), the folder
``make run`` uses when it checks the folder before dbt starts.
"""

from __future__ import annotations

import json
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

from segmentation import intake

FUNCTION_NAME = "segments_raw_file_plan"


def answer(request: str, database_path: str | None) -> str:
    """The plan for a JSON request, or the planner's message, as JSON."""
    arguments = json.loads(request)
    try:
        plan = intake.plan_raw_files(
            arguments["data_dir"],
            arguments["contract"],
            arguments["settings"],
            str(intake.copy_dir_for(database_path)),
        )
    except intake.IntakeError as error:
        return json.dumps({"error": str(error)})
    return json.dumps({"plan": plan})


class Plugin(BasePlugin):
    """Registers the planner on every connection dbt opens."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.database_path = getattr(self.creds, "path", None)

    def configure_connection(self, conn: Any) -> None:
        conn.create_function(
            FUNCTION_NAME,
            lambda request: answer(request, self.database_path),
            [VARCHAR],
            VARCHAR,
            side_effects=True,
        )
