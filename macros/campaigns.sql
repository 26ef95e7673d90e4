{% macro campaign_assignment_bucket(user_key, campaign_id) -%}
    {#- A number in [0, 1) from the first 8 hex digits (32 bits) of
        md5(user_key || '|' || campaign_id), read as an unsigned integer
        and divided by 2^32. user_key is already salted (pseudonymize), so
        the bucket is salted, deterministic and independent across
        campaigns. A user is in the holdout iff bucket < holdout share. -#}
    {{ return(adapter.dispatch(
        'campaign_assignment_bucket', 'segmentation_warehouse'
    )(user_key, campaign_id)) }}
{%- endmacro %}

{% macro default__campaign_assignment_bucket(user_key, campaign_id) -%}
    {{ exceptions.raise_compiler_error(
        "campaign_assignment_bucket has no implementation for adapter "
        ~ adapter.type() ~ ": add " ~ adapter.type()
        ~ "__campaign_assignment_bucket to macros/campaigns.sql"
    ) }}
{%- endmacro %}

{% macro duckdb__campaign_assignment_bucket(user_key, campaign_id) -%}
    cast('0x' || left({{ dbt.hash(
        "cast(" ~ user_key ~ " as varchar) || '|' || cast("
        ~ campaign_id ~ " as varchar)"
    ) }}, 8) as ubigint) / 4294967296.0
{%- endmacro %}


{% macro campaigns_overlap(campaign, other) -%}
    {#- True when two campaigns (relation aliases with channel, start_date
        and campaign_end_date) compete for the same users: same channel
        and overlapping [start_date, campaign_end_date]. -#}
    (
        {{ other }}.channel = {{ campaign }}.channel
        and {{ other }}.start_date <= {{ campaign }}.campaign_end_date
        and {{ campaign }}.start_date <= {{ other }}.campaign_end_date
    )
{%- endmacro %}


{% macro campaign_comes_first(campaign, other) -%}
    {#- True when campaign comes before other in the priority order of
        overlapping campaigns: earlier start_date, then lower priority
        (null last), then campaign_id. -#}
    (
        {{ campaign }}.start_date < {{ other }}.start_date
        or (
            {{ campaign }}.start_date = {{ other }}.start_date
            and (
                coalesce({{ campaign }}.priority, 2147483647)
                < coalesce({{ other }}.priority, 2147483647)
                or (
                    coalesce({{ campaign }}.priority, 2147483647)
                    = coalesce({{ other }}.priority, 2147483647)
                    and {{ campaign }}.campaign_id < {{ other }}.campaign_id
                )
            )
        )
    )
{%- endmacro %}
