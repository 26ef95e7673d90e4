{{ config(severity='warn') }}
-- Warns about every campaign (and target segment) whose treatment and
-- holdout sizes are off the planned holdout share (chi-square p-value
-- below var campaign_srm_p_value), naming it: the hash split was broken
-- (users dropped or added after assignment), so its lift is not to be
-- trusted until the split is explained.
select
    campaign_id,
    target_segment,
    planned_holdout_share,
    users as treatment_users,
    sample_ratio_p_value
from {{ ref('campaign_results') }}
where is_sample_ratio_mismatch
