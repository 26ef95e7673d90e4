{% test unique_where_loaded_now(
    model, column_name, repeated_column=none,
    loaded_column='loaded_by_invocation_id'
) %}
{#- Every key of the rows the current run loaded (loaded_by_invocation_id)
    occurs once in the whole table: new rows repeat neither each other nor
    the rows kept from earlier runs. A full build loads every row, so this
    is `unique`; a daily run checks one day's keys against all the rest
    without grouping the whole table.

    repeated_column (optional): a boolean column true on the rows whose
    key the model's deduplication ranked (macro deduplicate,
    is_<key>_repeated). Only those rows can repeat a kept key: a key the
    ranking did not see occurs once among the rows read and was not kept
    before, by construction (tested on literal rows by
    tests/macros/deduplicate__on_literal_rows). With it, only the ranked
    keys loaded now are looked up in the whole table, so a full build
    needs no grouping of every key either.

    loaded_column: the column naming the invocation that loaded each row;
    none for a model rebuilt in full by every run (all its rows are loaded
    now). -#}
with

loaded_now as (
    select {{ column_name }} as loaded_key
    from {{ model }}
    where
        {% if loaded_column is not none -%}
            {{ loaded_column }} = '{{ invocation_id }}' and
        {% endif -%}
        {{ column_name }} is not null
        {%- if repeated_column is not none %}
        and {{ repeated_column }}
        {%- endif %}
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} in (select loaded_now.loaded_key from loaded_now)
group by 1
having count(*) > 1
{% endtest %}
