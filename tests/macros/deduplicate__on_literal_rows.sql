-- The deduplication of the base staging models (macro deduplicate) on
-- literal rows, as an incremental run: returns every distinct row whose
-- ranks or is_row_key_repeated differ from the expected ones. The construction the
-- id uniqueness tests rely on: a key ranked on several rows keeps one (the
-- first by order_by; duplicates within a file and across files), a key
-- every row of which is rejected keeps none, a key already kept by an
-- earlier run makes the row loaded now a duplicate (the row loaded first
-- wins), and a key that is not repeated is kept as it is. Ids are read as
-- the models read them (clean_id: `7.0` is `7`).
with

raw_rows as (
    select
        raw_rows.row_key,
        raw_rows.file_name,
        raw_rows.row_value,
        raw_rows.expected_rank,
        raw_rows.expected_repeated
    from (
        values
        -- once: kept, not ranked
        ('a', 'f1', 1, 1, false),
        -- twice in one file: the first by row_value is kept
        ('b', 'f1', 2, 2, true),
        ('b', 'f1', 1, 1, true),
        -- in two files: the first file's row is kept
        ('c', 'f2', 3, 2, true),
        ('c', 'f1', 5, 1, true),
        -- the same row twice: one is kept
        ('x', 'f1', 4, 1, true),
        ('x', 'f1', 4, 2, true),
        -- every row rejected (a negative value): none kept
        ('d', 'f1', -1, null, true),
        ('d', 'f2', -2, null, true),
        -- one rejected, one valid: the valid one is kept
        ('e', 'f1', -1, null, true),
        ('e', 'f2', 9, 1, true),
        -- `7.0` and ` 7` are one id
        ('7.0', 'f1', 1, 1, true),
        (' 7', 'f2', 1, 2, true),
        -- kept by an earlier run: the row loaded now is a duplicate
        ('k', 'f3', 1, 2, true),
        -- rejected by an earlier run: not a duplicate
        ('r', 'f3', 1, 1, false),
        -- missing ids: rejected
        (null, 'f1', 1, null, true),
        (null, 'f2', 1, null, true)
    ) as raw_rows (
        row_key, file_name, row_value, expected_rank, expected_repeated
    )
),

kept_before as (
    select
        kept_before.row_key,
        kept_before.reject_reason
    from (
        values
        ('k', null),
        ('r', 'negative_value')
    ) as kept_before (row_key, reject_reason)
),

{% call(rows_read) deduplicate(
    key='row_key',
    raw_key=clean_id('raw_row.row_key'),
    raw_from='raw_rows as raw_row',
    order_by=['file_name', 'row_value'],
    increment={'load': ['f1', 'f2', 'f3'], 'keep': []},
    loaded_relation='kept_before',
) %}
    select
        parsed.*,
        case
            when parsed.row_key is null then 'missing_row_key'
            when parsed.row_value < 0 then 'negative_value'
        end as row_reject_reason
    from (
        select
            {{ clean_id('raw_row.row_key') }} as row_key,
            raw_row.file_name,
            raw_row.row_value,
            raw_row.expected_rank,
            raw_row.expected_repeated,
            struct_pack(
                row_key := raw_row.row_key,
                file_name := raw_row.file_name,
                row_value := raw_row.row_value
            ) as raw_row
        from {{ rows_read }} as raw_row
    ) as parsed
{% endcall %}

mismatches as (
    -- Compared per distinct row: which of two equal rows is kept is
    -- arbitrary, that one is kept is not.
    select
        row_key,
        file_name,
        row_value,
        list(row_key_rank order by row_key_rank) as row_key_ranks,
        list(expected_rank order by expected_rank) as expected_ranks
    from ranked
    group by 1, 2, 3
    having
        list(row_key_rank order by row_key_rank)
        is distinct from list(expected_rank order by expected_rank)
        or bool_or(is_row_key_repeated is distinct from expected_repeated)
)

select * from mismatches
