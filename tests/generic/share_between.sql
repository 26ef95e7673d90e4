{% test share_between(model, column_name, min_share=0, max_share=1) %}
{#- Each value of the column holds between min_share and max_share of the
    rows: returns every value outside the bounds. Meant as a warning that a
    segment has become too small or too dominant to act on. -#}
with

shares as (
    select
        {{ column_name }} as segment,
        count(*) * 1.0 / sum(count(*)) over () as share
    from {{ model }}
    group by 1
)

select *
from shares
where share < {{ min_share }} or share > {{ max_share }}
{% endtest %}
