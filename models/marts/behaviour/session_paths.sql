{#- The var session_paths_top_n most frequent session paths (event types in
    time order, repeats collapsed; the session_funnels docs block) of the
    session days before as_of_date, with how many of their sessions had a
    purchase. -#}
with

session_days as (
    select * from {{ ref('int_session_days_filtered_to_as_of') }}
    where session_id is not null
),

paths as (
    select
        session_path as path,  -- noqa: RF04
        count(*) as sessions,
        count(case when has_purchase then 1 end) as purchase_sessions
    from session_days
    group by 1
),

ranked as (
    select
        row_number() over (order by sessions desc, path asc) as path_rank,
        path,
        -- The steps shown (a path ending ' > ...' had more).
        length(string_split(path, ' > '))
        - case when path like '% > ...' then 1 else 0 end as steps,
        sessions,
        sessions / sum(sessions) over () as session_share,
        purchase_sessions,
        purchase_sessions / sessions as purchase_rate
    from paths
)

select * from ranked
where path_rank <= {{ positive_integer_var('session_paths_top_n') }}
