{#- Every cluster explained by readable rules, for BI and the report:
    computed once in int_clusters_explained (the build's as-of date), only
    selected here. -#}
with

explained as (
    select * from {{ ref('int_clusters_explained') }}
),

final as (
    select
        cluster_id,
        cluster_label,
        rule_rank,
        rule,
        users_in_rule,
        cluster_users_in_rule,
        rule_precision,
        rule_coverage,
        cluster_users,
        cluster_rule_coverage,
        tree_agreement,
        no_rule_reason
    from explained
)

select * from final
