-- Support and lift are symmetric: every rule a -> b has its reverse b -> a
-- with the same users, support and lift (the min-support filter keeps
-- both or neither). Returns every rule without its matching reverse.
with

rules as (
    select * from {{ ref('category_association_rules') }}
)

select
    rules.antecedent,
    rules.consequent,
    rules.users_with_both,
    reverse_rules.users_with_both as reverse_users_with_both
from rules
left join rules as reverse_rules
    on
        rules.antecedent = reverse_rules.consequent
        and rules.consequent = reverse_rules.antecedent
where
    reverse_rules.antecedent is null
    or rules.users_with_both != reverse_rules.users_with_both
    or rules.support != reverse_rules.support
    or rules.lift != reverse_rules.lift
