"""Python side of the segmentation warehouse.

* ``segmentation.cli``: ``python -m segmentation run`` behind ``make run``;
* ``segmentation.summary``: the summary printed after a build;
* ``segmentation.publish``: read-only releases of the marts for BI tools;
* ``segmentation.report``: the self-contained HTML segment report;
* ``segmentation.docs_check``: every model, column and macro is described;
* ``segmentation.clustering``, ``segmentation.segments``,
  ``segmentation.dbt_models``: the logic of the dbt Python models;
* ``segmentation.demo_data``: the deterministic demo-data generator.
"""
