{% test keys_match_filter(model, key, filtered_model, filter, filter_reads=none) %}
{#- For a model that keeps some rows of another one row for row (a filter,
    with columns added): fails unless the model's keys are exactly the keys
    of filtered_model's rows that meet filter (the same count and the same
    order-independent sum of their hashes, one scan of each and no hash
    table). A join that fans rows out, a lost or an added row shows; and as
    filtered_model is unique on key (tested where it is built), so is the
    model, without the grouping a unique test costs on the largest
    tables. filter_reads: a model the filter reads (a ref), so that dbt
    knows the test depends on it. -#}
{%- if filter_reads is not none %}
-- depends_on: {{ filter_reads }}
{%- endif %}
with

model_keys as (
    select
        count(*) as row_count,
        coalesce(sum(hash({{ key }})::hugeint), 0) as key_hash_sum
    from {{ model }}
),

filtered_keys as (
    select
        count(*) as row_count,
        coalesce(sum(hash({{ key }})::hugeint), 0) as key_hash_sum
    from {{ filtered_model }}
    where {{ filter }}
)

select
    model_keys.row_count,
    filtered_keys.row_count as filtered_row_count,
    model_keys.key_hash_sum,
    filtered_keys.key_hash_sum as filtered_key_hash_sum
from model_keys
cross join filtered_keys
where
    model_keys.row_count != filtered_keys.row_count
    or model_keys.key_hash_sum != filtered_keys.key_hash_sum
{% endtest %}
