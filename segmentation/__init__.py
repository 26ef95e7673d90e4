"""Python side of the segmentation warehouse.

* ``segmentation.cli``: ``python -m segmentation run`` behind ``make run``;
* ``segmentation.summary``: the summary printed after a build;
* ``segmentation.demo_data``: the deterministic demo-data generator.
"""
