{#- Predicted CLV of every purchaser, for BI: computed once in
    int_users_clv_predicted (a dbt Python model), only selected here. -#}
with

predicted as (
    select * from {{ ref('int_users_clv_predicted') }}
),

final as (
    select
        user_id,
        btyd_model,
        probability_alive,
        expected_purchases,
        expected_purchases_p10,
        expected_purchases_p50,
        expected_purchases_p90,
        expected_average_spend,
        predicted_clv,
        predicted_clv_p10,
        predicted_clv_p50,
        predicted_clv_p90,
        historical_ltv,
        clv_source
    from predicted
)

select * from final
