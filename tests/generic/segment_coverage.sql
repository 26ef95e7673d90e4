{% test segment_coverage(model, population, key='user_id') %}
{#- Every member of the population appears in the model exactly once, and
    the model holds nobody else: returns each key with a count other than
    one, or absent from the population. -#}
with

population as (
    select {{ key }} as member_key from {{ population }}
),

assigned as (
    select {{ key }} as member_key from {{ model }}
),

counts as (
    select
        population.member_key,
        count(assigned.member_key) as assigned_count
    from population
    left join assigned on population.member_key = assigned.member_key
    group by 1
),

problems as (
    select
        member_key,
        assigned_count,
        'assigned other than once' as problem
    from counts
    where assigned_count != 1

    union all

    select
        assigned.member_key,
        1 as assigned_count,
        'not in the population' as problem
    from assigned
    left join population on assigned.member_key = population.member_key
    where population.member_key is null
)

select * from problems
{% endtest %}
