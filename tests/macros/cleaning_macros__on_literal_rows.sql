-- The cleaning macros on literal rows: returns every row whose result
-- differs from the expected value.
with

cases as (
    select
        cases.raw_text,
        cases.expected_text,
        cases.expected_label,
        cases.expected_boolean
    from (
        values
        ('  Completed ', 'Completed', 'completed', null),
        ('Page View', 'Page View', 'page_view', null),
        ('E-Mail', 'E-Mail', 'e_mail', null),
        ('YES', 'YES', 'yes', true),
        (' n ', 'n', 'n', false),
        ('0', '0', '0', false),
        ('maybe', 'maybe', 'maybe', null),
        ('   ', null, null, null)
    ) as cases (raw_text, expected_text, expected_label, expected_boolean)
),

timestamps as (
    select
        timestamps.raw_timestamp,
        cast(timestamps.expected_timestamp as timestamp) as expected_timestamp
    from (
        values
        ('2025-02-02', '2025-02-02 00:00:00'),
        ('2025-02-02 10:30:00', '2025-02-02 10:30:00'),
        ('2025-02-02T10:30:00Z', '2025-02-02 10:30:00'),
        ('2025-02-02T10:30:00+02:00', '2025-02-02 08:30:00'),
        ('31/12/2025', null),
        ('2025-13-45', null),
        ('', null)
    ) as timestamps (raw_timestamp, expected_timestamp)
),

text_failures as (
    select
        raw_text as input_value,
        'text' as macro_family
    from cases
    where
        {{ clean_text('raw_text') }} is distinct from expected_text
        or {{ normalize_label('raw_text') }} is distinct from expected_label
        or {{ parse_boolean('raw_text') }} is distinct from expected_boolean
),

timestamp_failures as (
    select
        raw_timestamp as input_value,
        'timestamp' as macro_family
    from timestamps
    where
        {{ parse_timestamp('raw_timestamp') }}
        is distinct from expected_timestamp
)

select * from text_failures
union all
select * from timestamp_failures
