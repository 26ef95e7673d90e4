-- The category affinity macros on literal rows: returns every row whose
-- result differs from the expected value.
with

cases as (
    select
        cases.category,
        cases.revenue,
        cases.total_revenue,
        cases.purchases,
        cases.total_purchases,
        cases.expected_category,
        cases.expected_share
    from (
        values
        ('books', 30.0, 40.0, 1, 2, 'books', 0.75),
        (null, 10.0, 40.0, 1, 2, 'uncategorized', 0.25),
        ('toys', 0.0, 0.0, 1, 4, 'toys', 0.25),
        ('toys', 0.0, 0.0, 0, 0, 'toys', null)
    ) as cases (
        category, revenue, total_revenue, purchases, total_purchases,
        expected_category, expected_share
    )
)

select *
from cases
where
    {{ product_category_or_uncategorized('category') }}
    is distinct from expected_category
    or abs(
        {{ spend_share(
            'revenue', 'total_revenue', 'purchases', 'total_purchases'
        ) }} - expected_share
    ) > 1e-12
    or (
        {{ spend_share(
            'revenue', 'total_revenue', 'purchases', 'total_purchases'
        ) }} is null
    ) != (expected_share is null)
