{#- The fitted BG/NBD and Gamma-Gamma models, for BI: fitted once in
    int_btyd_models_fitted (a dbt Python model), only selected here. -#}
with

fits as (
    select * from {{ ref('int_btyd_models_fitted') }}
),

final as (
    select
        model,
        r,
        alpha,
        a,
        b,
        p,
        q,
        v,
        log_likelihood,
        n_customers,
        converged,
        iterations,
        fit_seconds,
        fallback_reason
    from fits
)

select * from final
