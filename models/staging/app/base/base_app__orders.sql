with

source as (
    select * from {{ source('app', 'orders') }}
),

horizon as (
    select horizon_date from {{ ref('util_data_horizon') }}
),

users as (
    select user_id from {{ ref('stg_app__users') }}
),

users_provided as (
    select count(*) > 0 as are_users_provided from users
),

parsed as (
    select
        {{ clean_text('source.order_id') }} as order_id,
        {{ clean_text('source.user_id') }} as user_id,
        {{ parse_timestamp('source.ordered_at') }} as ordered_at,
        {{ dbt.safe_cast(clean_text('source.amount'), 'decimal(18, 2)') }}
            as amount,
        coalesce({{ normalize_label('source.status') }}, 'completed')
            as status,
        {{ normalize_label('source.product_category') }} as product_category,
        {{ row_as_json('source') }} as raw_record
    from source
),

checked as (
    select
        parsed.*,
        case
            when parsed.order_id is null then 'missing_order_id'
            when parsed.user_id is null then 'missing_user_id'
            when parsed.ordered_at is null then 'invalid_ordered_at'
            when parsed.amount is null then 'invalid_amount'
            when parsed.amount < 0 then 'negative_amount'
            when parsed.status not in {{ in_list(var('order_statuses')) }}
                then 'invalid_status'
            when cast(parsed.ordered_at as date) > horizon.horizon_date
                then 'future_timestamp'
            when
                users_provided.are_users_provided and users.user_id is null
                then 'unknown_user'
        end as row_reject_reason
    from parsed
    cross join horizon
    cross join users_provided
    left join users on parsed.user_id = users.user_id
),

ranked as (
    select
        *,
        case
            when row_reject_reason is null
                then row_number() over (
                    partition by order_id, row_reject_reason is null
                    order by
                        user_id, ordered_at, amount, status, product_category,
                        raw_record
                )
        end as order_id_rank
    from checked
),

validated as (
    select
        order_id,
        user_id,
        ordered_at,
        amount,
        status,
        product_category,
        raw_record,
        coalesce(
            row_reject_reason,
            case when order_id_rank > 1 then 'duplicate_order_id' end
        ) as reject_reason
    from ranked
)

select * from validated
