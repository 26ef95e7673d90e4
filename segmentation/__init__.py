"""The runtime package of the segmentation warehouse (``pip wheel .``).

Four roles, one sub-package or module each:

* ``segmentation.methods``: pure methods (BTYD fitters, clustering, segment
  rules), no dbt and no database;
* ``segmentation.dbt_python``: the glue the dbt Python models call (Arrow
  in, Arrow out, settings from the vars);
* the application behind ``make run``: ``segmentation.cli`` (``python -m
  segmentation run``), ``segmentation.summary``, ``segmentation.publish``
  and ``segmentation.privacy``;
* presentation: ``segmentation.report``, the self-contained HTML report.

Development tools (benchmark, demo-data generator, docs check) live in
``tools/`` beside the package and are not part of it. No module finds files
relative to its own source: the dbt project folder comes from an argument,
``SEGMENTS_PROJECT_DIR`` or the working directory.
"""
