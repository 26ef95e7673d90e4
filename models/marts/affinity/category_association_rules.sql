{#- Association rules between product categories over purchasers: one row
    per ordered pair antecedent -> consequent bought by the same users (a
    user bought a category with at least one purchase before as_of_date),
    with support, confidence and lift, for the pairs bought by at least
    var affinity_min_support of the purchasers. -#}
with

categories as (
    select * from {{ ref('int_users_categories_aggregated') }}
),

purchasers as (
    select count(distinct user_id) as purchasers from categories
),

category_users as (
    select
        product_category,
        count(*) as buyers
    from categories
    group by 1
),

pairs as (
    select
        antecedents.product_category as antecedent,
        consequents.product_category as consequent,
        count(*) as users_with_both
    from categories as antecedents
    inner join categories as consequents
        on
            antecedents.user_id = consequents.user_id
            and antecedents.product_category != consequents.product_category
    group by 1, 2
),

rules as (
    select
        pairs.antecedent,
        pairs.consequent,
        pairs.users_with_both,
        cast(pairs.users_with_both as double)
        / purchasers.purchasers as support,  -- noqa: RF04
        cast(antecedent_users.buyers as double)
        / purchasers.purchasers as antecedent_support,
        cast(consequent_users.buyers as double)
        / purchasers.purchasers as consequent_support,
        cast(pairs.users_with_both as double)
        / antecedent_users.buyers as confidence,
        -- confidence / consequent_support, written symmetrically so that a
        -- rule and its reverse have exactly the same lift.
        cast(pairs.users_with_both as double) * purchasers.purchasers
        / (antecedent_users.buyers * consequent_users.buyers) as lift,
        purchasers.purchasers
    from pairs
    cross join purchasers
    inner join category_users as antecedent_users
        on pairs.antecedent = antecedent_users.product_category
    inner join category_users as consequent_users
        on pairs.consequent = consequent_users.product_category
),

final as (
    select
        antecedent,
        consequent,
        users_with_both,
        support,
        antecedent_support,
        consequent_support,
        confidence,
        lift,
        purchasers
    from rules
    where support >= {{ var('affinity_min_support') }}
)

select * from final
