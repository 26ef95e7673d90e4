"""dbt in the application's own process, the project parsed once per build.

One ``make run`` runs several dbt commands (the demo seeds, staging before a
history backfill, a run per backfilled date, the build). As separate
processes each would pay Python's and dbt's imports and a parse of the
project, a few seconds each; here they all run in this process through dbt's
programmatic API (``dbtRunner``), on one parse: ``dbt parse`` with the
build's vars, then every command with the parsed manifest (dbt's documented
``dbtRunner(manifest=...)``). That is sound because the only var that
changes between the commands of a build, the as-of date of each backfilled
date (segmentation.history), is read when a model is compiled, never when
the project is parsed; every command still runs the project's hooks (the
loader, ``on-run-start``), which are part of the manifest. The parse uses
the build's vars, so it reuses the partial parse of the previous build with
the same vars (``target/partial_parse.msgpack``) and leaves one for the next.

dbt reads its settings from the environment (``profiles.yml``'s
``env_var``, ``DBT_TARGET_PATH``) and finds the project in the working
directory: while a :class:`Dbt` is open, both are the build's. dbt-duckdb
keeps the warehouse open in a process-wide environment between connections
(``keep_open``), and DuckDB refuses, in one process, a second connection to
the file with other settings: the warehouse is closed after every command,
so the application opens it itself in between (the history's calendar) and
after (publish, summary).

While a :class:`Dbt` is open, Python's cyclic garbage collector runs less
often (``GC_THRESHOLD``): dbt allocates many small objects per node (its
contexts, events, results), so with Python's default threshold (a
collection every 700 allocations) the collector ran about 6,600 times in a
demo build and took about a fifth of its CPU time (6-7 s of 33 s); at
10,000 it runs about 500 times, in 3 s. The results are the same (it only
frees reference cycles, later) and so is the peak memory (within a few MB:
the data live in DuckDB).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

# Python's garbage collector thresholds while dbt runs (the module's
# docstring says why); the default is (700, 10, 10).
GC_THRESHOLD = (10_000, 10, 10)


class Dbt:
    """dbt commands of one build in this process (a context manager)."""

    def __init__(self, env: dict[str, str], variables: dict[str, Any]) -> None:
        self.env = env
        self.variables = variables
        self._manifest: Any = None
        # The arguments of the last dbt command run (``parse`` when the
        # parse before a command failed).
        self.last_command: list[str] = []
        self._saved: tuple[dict[str, str], Path] | None = None
        self._gc_threshold: tuple[int, ...] | None = None

    def __enter__(self) -> Dbt:
        from segmentation.project import project_dir

        self._saved = (dict(os.environ), Path.cwd())
        os.environ.update(self.env)
        os.chdir(project_dir(self.env))
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLD)
        return self

    def __exit__(self, *exc_info: object) -> None:
        release_warehouse()
        if self._saved is not None:
            environment, folder = self._saved
            os.environ.clear()
            os.environ.update(environment)
            os.chdir(folder)
            self._saved = None
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None

    def parse(self) -> int:
        """Parse the project with the build's vars, once, for the commands
        that follow (its output is printed, after a ``$ dbt parse`` line);
        return dbt's exit code. Its manifest.json is left to them: every
        command writes its own."""
        if self._manifest is None:
            var_args = ["--vars", json.dumps(self.variables)] if self.variables else []
            parsed, code, _ = self._run(["parse", "--no-write-json", *var_args])
            if code != 0:
                return code
            self._manifest = parsed.result
        return 0

    def invoke(self, arguments: list[str], quiet: bool = False) -> tuple[int, str]:
        """Run ``dbt ARGUMENTS``, on the parsed project once :meth:`parse`
        has run (else dbt parses it itself, as for a single command);
        return dbt's exit code (0 done, 1 a model or test failed, 2 dbt
        itself failed) and, when quiet, its output (else printed, after a
        ``$ dbt ...`` line)."""
        _, code, output = self._run(arguments, quiet, self._manifest)
        return code, output

    def _run(
        self, arguments: list[str], quiet: bool = False, manifest: Any = None
    ) -> tuple[Any, int, str]:
        from dbt.cli.exceptions import DbtInternalException, DbtUsageException
        from dbt.cli.main import dbtRunner

        if not quiet:
            print(f"$ dbt {' '.join(arguments)}", flush=True)
        output = io.StringIO()
        with contextlib.ExitStack() as stack:
            if quiet:
                stack.enter_context(contextlib.redirect_stdout(output))
            try:
                result = dbtRunner(manifest=manifest).invoke(arguments)
            finally:
                release_warehouse()
            if isinstance(result.exception, DbtUsageException | DbtInternalException):
                # Raised before dbt's own error handling, which would log it.
                print(f"dbt: {result.exception}", flush=True)
        sys.stdout.flush()
        self.last_command = arguments
        code = 0 if result.success else 2 if result.exception is not None else 1
        return result, code, output.getvalue()


def release_warehouse() -> None:
    """Close the warehouse dbt-duckdb keeps open in this process, if any."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # none created yet: nothing is open
        return
    environment.close()
    DuckDBConnectionManager.close_all_connections()
