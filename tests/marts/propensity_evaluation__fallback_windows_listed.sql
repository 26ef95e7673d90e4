{{ config(severity='warn') }}
-- Warns with every propensity window that has no model: its label,
-- horizon, reason and note (what to do). Its classifiers' rows in
-- propensity_evaluation have null metrics, and a scoring window's scores
-- are null in user_profiles. Each note is also logged, one line per window
-- ("propensity fallback: ..."), when the test runs after the mart is built.
{%- if execute %}
    {%- set evaluation = ref('propensity_evaluation') %}
    {%- if adapter.get_relation(
        evaluation.database, evaluation.schema, evaluation.identifier
    ) is not none %}
        {%- set notes = run_query(
            "select distinct fallback_note from " ~ evaluation
            ~ " where status = 'fallback' order by 1"
        ) %}
        {%- for note in notes.columns[0].values() %}
            {{- log('propensity fallback: ' ~ note, info=true) }}
        {%- endfor %}
    {%- endif %}
{%- endif %}
select distinct
    window_kind,
    label,
    horizon_days,
    fallback_reason,
    fallback_note
from {{ ref('propensity_evaluation') }}
where status = 'fallback'
order by 1, 2, 3
