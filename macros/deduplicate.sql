{% macro deduplicate(
    key, raw_key, raw_from, order_by, raw_filter='true', increment=none,
    loaded_relation=none
) %}
    {#- The deduplication of a base_ staging model, as CTEs (each followed
        by a comma), the last one `ranked`: every checked row with
        <key>_rank, 1 for the row kept, > 1 for a duplicate, null for a
        rejected row, and is_<key>_repeated, true on the rows whose key
        was ranked (it occurs on several rows read now, or the table
        already holds it). Built for a hundred million rows: only the rows
        whose key occurs more than once are ranked (read a second time);
        the others need no window over the whole table, and their key is
        unique by construction (tests/macros/deduplicate__on_literal_rows
        checks the construction; unique_where_loaded_now, given
        is_<key>_repeated, checks the kept rows that were ranked).

        The caller block renders the model's checked rows from the raw rows
        it is given (`{% call(raw_rows) deduplicate(...) %} ... from
        {{ raw_rows }} as <alias> ... {% endcall %}`, alias as in
        raw_from); they hold the column <key>, a row_reject_reason (null
        when the row is valid) and raw_row (the raw row as a struct). Among
        valid rows sharing a key, the first by order_by, then by the raw
        row, is kept. With an increment (an incremental run), a key the
        model's table (or loaded_relation, for a test) already holds on an
        accepted row is a duplicate: the row loaded first wins.

        Repeated keys are found by a 64-bit hash of the key (key_hash), not
        its text: grouping and matching integers is cheaper, and measured
        so. Rows sharing a key share its hash, so every repeated key is
        found; a collision only sends a row whose key occurs once through
        the ranking, where its rank is still 1. -#}
    {%- set raw_alias = raw_from.split(' as ')[-1] | trim -%}
    {%- set ids = key ~ 's' -%}
raw_{{ ids }} as (
    -- The hash of every key read now. A missing key has a hash too: its
    -- rows are rejected whatever their rank.
    select {{ key_hash(raw_key) }} as {{ key }}_hash
    from {{ raw_from }}
    where {{ raw_filter }}
),
{% if increment is not none %}
loaded_{{ ids }} as (
    -- Keys of rows loaded now that a kept file already holds (accepted):
    -- such a row is a duplicate (the file loaded first wins).
    select distinct {{ key }}
    from {{ this if loaded_relation is none else loaded_relation }}
    where
        reject_reason is null
        and {{ key_hash(key) }}
        in (select raw_{{ ids }}.{{ key }}_hash from raw_{{ ids }})
),
{% endif %}
repeated_{{ ids }} as (
    -- Hashes of keys on more than one row read now (valid or not), and of
    -- keys already loaded: only their rows are ranked.
    select {{ key }}_hash
    from raw_{{ ids }}
    group by 1
    having count(*) > 1
    {%- if increment is not none %}

    union

    select {{ key_hash(key) }} from loaded_{{ ids }}
    {%- endif %}
),

unrepeated as (
    -- Rows whose key occurs once, and rejected rows: nothing to rank.
    select
        checked_row.*,
        case when checked_row.row_reject_reason is null then 1 end
            as {{ key }}_rank,
        repeated_{{ ids }}.{{ key }}_hash is not null as is_{{ key }}_repeated
    from (
        {{ caller(
            '(select * from ' ~ raw_from ~ ' where ' ~ raw_filter ~ ')'
        ) | trim | indent(8) }}
    ) as checked_row
    left join repeated_{{ ids }}
        on {{ key_hash('checked_row.' ~ key) }}
        = repeated_{{ ids }}.{{ key }}_hash
    where
        repeated_{{ ids }}.{{ key }}_hash is null
        or checked_row.row_reject_reason is not null
),

repeated as (
    -- Valid rows sharing their key (read again, few): the first by
    -- order_by, then by the raw row, is kept; none when the table already
    -- holds the key.
    select
        checked_row.*,
        row_number()
            over (
                partition by checked_row.{{ key }}
                order by
                    {%- for column in order_by %}
                    checked_row.{{ column }},
                    {%- endfor %}
                    {{ row_as_json('checked_row.raw_row') }}
            )
        {%- if increment is not none %}
            + case
                when loaded_{{ ids }}.{{ key }} is not null then 1 else 0
            end
        {%- endif %} as {{ key }}_rank,
        true as is_{{ key }}_repeated
    from (
        {#- The hash is a column of the raw rows read, filtered after:
            cheaper than a semi-join on the key expression (measured). #}
        {{ caller(
            '(select * from (select ' ~ raw_alias ~ '.*, '
            ~ key_hash(raw_key) ~ ' as ' ~ key ~ '_hash from ' ~ raw_from
            ~ ' where ' ~ raw_filter ~ ') as ' ~ raw_alias ~ ' where '
            ~ key ~ '_hash in (select repeated_' ~ ids ~ '.' ~ key
            ~ '_hash from repeated_' ~ ids ~ '))'
        ) | trim | indent(8) }}
    ) as checked_row
    {%- if increment is not none %}
        left join loaded_{{ ids }}
            on checked_row.{{ key }} = loaded_{{ ids }}.{{ key }}
    {%- endif %}
    where checked_row.row_reject_reason is null
),

ranked as (
    select * from unrepeated
    union all
    select * from repeated
),
{%- endmacro %}


{% macro key_hash(column) -%}
    {#- A 64-bit hash of a key, to find repeated keys cheaply (equal keys
        have equal hashes; deduplicate tells apart the rare collisions). -#}
    {{ return(adapter.dispatch(
        'key_hash', 'segmentation_warehouse'
    )(column)) }}
{%- endmacro %}

{% macro default__key_hash(column) -%}
    {{ dbt.hash(column) }}
{%- endmacro %}

{% macro duckdb__key_hash(column) -%}
    hash({{ column }})
{%- endmacro %}
