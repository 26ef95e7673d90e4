{#- Size and profile of every segment, tier, stage and cluster: one row
    per segment dimension and segment. -#}
with

segments as (
    select * from {{ ref('int_users_segmented') }}
),

profiles as (
    select * from {{ ref('int_users_profiled') }}
),

joined as (
    select
        segments.primary_segment,
        segments.value_tier,
        segments.activity_tier,
        segments.lifecycle_stage,
        coalesce(segments.rfm_segment, 'no purchase') as rfm_segment,
        coalesce(segments.cluster_label, 'no purchase') as cluster_label,
        profiles.recency_days,
        profiles.frequency,
        cast(profiles.monetary as double) as monetary,
        profiles.arpu_monthly,
        cast(profiles.historical_ltv as double) as historical_ltv,
        profiles.predicted_ltv,
        profiles.ctr_30d,
        profiles.conversion_rate_30d
    from segments
    inner join profiles on segments.user_id = profiles.user_id
),

unpivoted as (
    {%- for dimension in [
        'primary_segment', 'value_tier', 'activity_tier',
        'lifecycle_stage', 'rfm_segment', 'cluster_label'
    ] %}
        select
            '{{ dimension }}' as segment_dimension,
            {{ dimension }} as segment,
            recency_days,
            frequency,
            monetary,
            arpu_monthly,
            historical_ltv,
            predicted_ltv,
            ctr_30d,
            conversion_rate_30d
        from joined
        {{ 'union all' if not loop.last }}
    {%- endfor %}
),

profiled as (
    select
        segment_dimension,
        segment,
        count(*) as user_count,
        avg(recency_days) as mean_recency_days,
        {{ median('recency_days') }} as median_recency_days,
        avg(frequency) as mean_frequency,
        {{ median('frequency') }} as median_frequency,
        avg(monetary) as mean_monetary,
        {{ median('monetary') }} as median_monetary,
        avg(arpu_monthly) as mean_arpu_monthly,
        avg(historical_ltv) as mean_historical_ltv,
        avg(predicted_ltv) as mean_predicted_ltv,
        avg(ctr_30d) as mean_ctr_30d,
        avg(conversion_rate_30d) as mean_conversion_rate_30d
    from unpivoted
    group by 1, 2
),

with_share as (
    select
        *,
        user_count * 1.0
        / sum(user_count) over (partition by segment_dimension) as user_share
    from profiled
)

select * from with_share
