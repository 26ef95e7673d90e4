{% macro product_category_or_uncategorized(column) -%}
    {#- The category value of an order: its product_category, or
        'uncategorized' when it has none (or the data has no
        product_category column at all), so such orders are a category of
        their own and never dropped. The only place the label is written. -#}
    coalesce({{ column }}, 'uncategorized')
{%- endmacro %}


{% macro spend_share(revenue, total_revenue, purchases, total_purchases) -%}
    {#- A share of spend: revenue / total_revenue; when total_revenue is 0
        (only free orders), purchases / total_purchases instead; null when
        there is neither. -#}
    case
        when {{ total_revenue }} > 0
            then cast({{ revenue }} as double) / {{ total_revenue }}
        when {{ total_purchases }} > 0
            then cast({{ purchases }} as double) / {{ total_purchases }}
    end
{%- endmacro %}
