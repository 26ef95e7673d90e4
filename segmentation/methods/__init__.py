"""Pure methods: BG/NBD and Gamma-Gamma fitters, clustering, segment rules.

No dbt, no database: numpy, pandas, scipy and scikit-learn in, plain
objects and data frames out. The dbt Python models reach them through
``segmentation.dbt_python``; users of other adapters import them from the
installed wheel.
"""
