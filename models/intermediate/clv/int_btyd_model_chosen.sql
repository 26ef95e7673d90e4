{#- The transaction model behind predicted CLV (var btyd_model), one row:
    - a model named in the var: that model, if its fit converged;
    - auto in the calibration and holdout mode: the model whose fit on the
      calibration period predicts the total holdout repeat purchase days
      with the lowest absolute error (int_btyd_models_scored_on_holdout);
    - auto otherwise (or when no calibration fit converged): the lowest
      AIC = 2k - 2 log-likelihood of the fits as of as_of_date; BG/NBD,
      MBG/NBD and Pareto/NBD all have four parameters, so that is the
      highest likelihood.
    A model that did not converge is never chosen; when none can be,
    btyd_model is null and predicted CLV falls back to historical LTV. Ties
    are broken by the fixed order of btyd_models(), never by time.
    choice_reason says which rule chose, in words. -#}
{%- set setting = btyd_model() -%}
{%- set models = btyd_models() -%}
{%- set holdout_mode = var('clv_calibration_end_date', none) is not none -%}

with

prediction_fits as (
    select * from {{ ref('int_btyd_models_fitted') }}
),

holdout_scores as (
    select * from {{ ref('int_btyd_models_scored_on_holdout') }}
),

candidates as (
    select
        prediction_fits.model,
        case prediction_fits.model
            {% for model in models -%}
                when '{{ model }}' then {{ loop.index }}
            {% endfor -%}
        end as model_order,
        prediction_fits.aic,
        holdout_scores.predicted_holdout_purchases,
        holdout_scores.actual_holdout_purchases,
        holdout_scores.holdout_purchases_absolute_error
    from prediction_fits
    left join holdout_scores on prediction_fits.model = holdout_scores.model
    where
        prediction_fits.converged
        and prediction_fits.model in (
            {%- for model in models -%}
                '{{ model }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
),

{% if setting != 'auto' -%}
    ranked as (
        select
            'var' as choice_rule,
            model,
            'var btyd_model = {{ setting }}' as choice_reason,
            1 as rule_order,
            1 as candidate_order
        from candidates
        where model = '{{ setting }}'
    ),
{%- else -%}
    {%- if holdout_mode %}
        by_holdout_error as (
            select
                'holdout_error' as choice_rule,
                model,
                'auto: the lowest absolute error of the total holdout repeat'
                || ' purchase days, fitted on the calibration period ('
                || cast(round(predicted_holdout_purchases, 1) as varchar)
                || ' predicted against '
                || cast(actual_holdout_purchases as varchar)
                || ' actual)' as choice_reason,
                1 as rule_order,
                row_number() over (
                    order by holdout_purchases_absolute_error, model_order
                ) as candidate_order
            from candidates
            where holdout_purchases_absolute_error is not null
        ),
    {%- endif %}

    by_aic as (
        select
            'aic' as choice_rule,
            model,
            {%- if holdout_mode %}
                'auto: no model fitted on the calibration period converged,'
                || ' so the lowest AIC = 2k - 2 log-likelihood (AIC '
            {%- else %}
                'auto, holdout mode off: the lowest AIC = 2k - 2'
                || ' log-likelihood (every model has 4 parameters: the'
                || ' highest likelihood; AIC '
            {%- endif %}
            || cast(round(aic, 1) as varchar) || ')' as choice_reason,
            2 as rule_order,
            row_number() over (order by aic, model_order) as candidate_order
        from candidates
        where aic is not null
    ),

    ranked as (
        {%- if holdout_mode %}
            select * from by_holdout_error
            union all
        {%- endif %}
        select * from by_aic
    ),
{%- endif %}

winner as (
    select
        choice_rule,
        model,
        choice_reason,
        rule_order,
        candidate_order
    from ranked
    order by 4, 5
    limit 1
),

-- One row even when no model can be chosen.
var_setting as (
    select '{{ setting }}' as btyd_model_setting
),

chosen as (
    select
        winner.model as btyd_model,
        var_setting.btyd_model_setting,
        coalesce(winner.choice_rule, 'none') as choice_rule,
        coalesce(
            winner.choice_reason,
            {% if setting != 'auto' -%}
                'var btyd_model = {{ setting }}, but it has no converged'
                || ' fit: predicted CLV is historical LTV'
            {%- else -%}
                'no transaction model converged: predicted CLV is'
                || ' historical LTV'
            {%- endif %}
        ) as choice_reason
    from var_setting
    left join winner on true
)

select * from chosen
