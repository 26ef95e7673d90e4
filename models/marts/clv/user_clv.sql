{#- Predicted CLV of every purchaser, for BI: computed once in
    int_users_clv_predicted (a dbt Python model), only selected here. -#}
with

predicted as (
    select * from {{ ref('int_users_clv_predicted') }}
),

final as (
    select
        user_id,
        probability_alive,
        expected_purchases,
        expected_average_spend,
        predicted_clv,
        historical_ltv,
        clv_source
    from predicted
)

select * from final
