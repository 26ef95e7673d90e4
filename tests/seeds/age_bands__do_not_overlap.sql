-- No age belongs to two bands.
with

age_bands as (
    select * from {{ ref('age_bands') }}
)

select
    band.age_band,
    other_band.age_band as overlapping_band
from age_bands as band
inner join age_bands as other_band
    on
        band.age_band < other_band.age_band
        and band.min_age <= other_band.max_age
        and band.max_age >= other_band.min_age
