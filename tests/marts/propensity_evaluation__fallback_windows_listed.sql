{{ config(severity='warn') }}
-- Warns with every propensity window that has no model (the log line of a
-- fallback): its label, horizon, reason and note (what to do). Its
-- classifiers' rows in propensity_evaluation have null metrics, and a
-- scoring window's scores are null in user_profiles.
select distinct
    window_kind,
    label,
    horizon_days,
    fallback_reason,
    fallback_note
from {{ ref('propensity_evaluation') }}
where status = 'fallback'
order by 1, 2, 3
