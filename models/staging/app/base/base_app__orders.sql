{#- Every raw order row, cleaned and checked, with its reject reason (null
    for the rows kept). Like base_app__events, built for millions of rows:
    the raw row becomes JSON only for rejected rows, and only rows whose
    order id repeats are ranked to pick the one kept (macro
    deduplicate). -#}
{%- set raw_orders = source('app', 'orders') %}

with

{{ cross_table_check_ctes() }}

{% call(raw_rows) deduplicate(
    key='order_id',
    raw_key=clean_id('raw_order.order_id'),
    raw_from=raw_orders ~ ' as raw_order',
    order_by=[
        'user_id', 'ordered_at', 'amount', 'status', 'product_category',
    ],
) %}
    select
        parsed.*,
        case
            when parsed.order_id is null then 'missing_order_id'
            when parsed.user_id is null then 'missing_user_id'
            when parsed.ordered_at is null then 'invalid_ordered_at'
            when parsed.amount is null then 'invalid_amount'
            when parsed.amount < 0 then 'negative_amount'
            when parsed.amount > {{ max_order_amount() }}
                then 'amount_above_max'
            when parsed.status not in {{ in_list(var('order_statuses')) }}
                then 'invalid_status'
            {{ cross_table_reject_reasons('parsed.ordered_at') }}
        end as row_reject_reason
    from (
        select
            {{ clean_id('raw_order.order_id') }} as order_id,
            {{ clean_id('raw_order.user_id', is_user_id=true) }} as user_id,
            {{ parse_timestamp('raw_order.ordered_at') }} as ordered_at,
            {{ dbt.safe_cast(
                clean_text('raw_order.amount'), 'decimal(18, 2)'
            ) }} as amount,
            coalesce({{ order_status('raw_order.status') }}, 'completed')
                as status,
            {{ normalize_label('raw_order.product_category') }}
                as product_category,
            {{ raw_row_struct('orders', 'raw_order') }} as raw_row
        from {{ raw_rows }} as raw_order
    ) as parsed
    {{ cross_table_check_joins('parsed') }}
{% endcall %}

validated as (
    select
        order_id,
        user_id,
        ordered_at,
        amount,
        status,
        product_category,
        case
            when row_reject_reason is not null or order_id_rank > 1
                then {{ row_as_json('raw_row') }}
        end as raw_record,
        coalesce(
            row_reject_reason,
            case when order_id_rank > 1 then 'duplicate_order_id' end
        ) as reject_reason,
        is_order_id_repeated
    from ranked
)

select * from validated
