with

source as (
    select * from {{ source('app', 'users') }}
),

horizon as (
    select horizon_date from {{ ref('base_app__data_horizon') }}
),

parsed as (
    select
        {{ clean_id('source.user_id', is_user_id=true) }} as user_id,
        {{ parse_timestamp('source.signed_up_at') }} as signed_up_at,
        {{ parse_date('source.birth_date') }} as birth_date,
        {{ normalize_label('source.gender') }} as gender_label,
        lower({{ clean_text('source.region') }}) as region,
        lower({{ clean_text('source.city') }}) as city,
        {{ normalize_label('source.acquisition_channel') }}
            as acquisition_channel,
        lower({{ clean_text('source.email') }}) as email,
        {{ clean_text('source.phone') }} as phone,
        {{ parse_boolean('source.marketing_opt_in') }} as marketing_opt_in,
        {{ clean_text('source.signed_up_at') }} is not null
            as has_signed_up_at_text,
        {{ clean_text('source.birth_date') }} is not null
            as has_birth_date_text,
        {{ clean_text('source.marketing_opt_in') }} is not null
            as has_marketing_opt_in_text,
        {{ row_as_json('source') }} as raw_record
    from source
),

checked as (
    select
        parsed.user_id,
        case
            when cast(parsed.signed_up_at as date) <= horizon.horizon_date
                then parsed.signed_up_at
        end as signed_up_at,
        case
            when parsed.birth_date <= horizon.horizon_date
                then parsed.birth_date
        end as birth_date,
        case
            when parsed.gender_label is null then 'unknown'
            when parsed.gender_label in ('f', 'female', 'woman', 'w')
                then 'female'
            when parsed.gender_label in ('m', 'male', 'man') then 'male'
            else 'other'
        end as gender,
        parsed.region,
        parsed.city,
        parsed.acquisition_channel,
        parsed.email,
        parsed.phone,
        coalesce(parsed.marketing_opt_in, false) as is_opted_in_to_marketing,
        nullif(concat_ws(
            ', ',
            case
                when
                    parsed.has_signed_up_at_text
                    and (
                        parsed.signed_up_at is null
                        or cast(parsed.signed_up_at as date)
                        > horizon.horizon_date
                    )
                    then 'signed_up_at'
            end,
            case
                when
                    parsed.has_birth_date_text
                    and (
                        parsed.birth_date is null
                        or parsed.birth_date > horizon.horizon_date
                    )
                    then 'birth_date'
            end,
            case
                when
                    parsed.has_marketing_opt_in_text
                    and parsed.marketing_opt_in is null
                    then 'marketing_opt_in'
            end
        ), '') as cleared_attributes,
        parsed.raw_record
    from parsed
    cross join horizon
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_id
            order by
                signed_up_at, birth_date, gender, region, city,
                acquisition_channel, email, phone, is_opted_in_to_marketing,
                raw_record
        ) as user_id_rank
    from checked
),

validated as (
    select
        *,
        case
            when user_id is null then 'missing_user_id'
            when user_id_rank > 1 then 'duplicate_user_id'
        end as reject_reason
    from ranked
)

select * from validated
