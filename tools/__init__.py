"""Development tools beside the runtime package: the benchmark, the demo-data
generator and the docs check. Never imported by the dbt models, ``make run``,
publishing or the report; run them from the repository root
(``python -m tools.bench``)."""
