{{ config(severity='warn') }}
-- Warns with every lookalike purpose that fell back (scoring: no
-- lookalike_scores; evaluation: no deciles in lookalike_evaluation): its
-- reason and note (what to do), from lookalike_evaluation, which carries
-- both. Each note is also logged, one line per purpose ("lookalike
-- fallback: ..."), when the test runs after the mart is built.
{%- set fallbacks -%}
    select 'evaluation' as purpose, fallback_reason, note
    from {{ ref('lookalike_evaluation') }}
    where status = 'fallback'
    union
    select 'scoring' as purpose, scoring_fallback_reason, scoring_note
    from {{ ref('lookalike_evaluation') }}
    where scoring_status = 'fallback'
{%- endset -%}
{%- if execute %}
    {%- set evaluation = ref('lookalike_evaluation') %}
    {%- if adapter.get_relation(
        evaluation.database, evaluation.schema, evaluation.identifier
    ) is not none %}
        {%- set notes = run_query(
            "select note from (" ~ fallbacks ~ ") order by purpose desc"
        ) %}
        {%- for note in notes.columns[0].values() %}
            {{- log('lookalike fallback: ' ~ note, info=true) }}
        {%- endfor %}
    {%- endif %}
{%- endif %}
select
    purpose,
    fallback_reason,
    note
from ({{ fallbacks }}) as fallbacks
order by 1 desc
