-- Exactly one k is chosen, so user_clusters has one k to use.
select count(*) as chosen_rows
from {{ ref('cluster_k_selection') }}
where is_chosen
having count(*) != 1
