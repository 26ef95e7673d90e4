{% macro get_where_subquery(relation) -%}
    {#- dbt's test `where` config, plus two keywords: where
        "rows_loaded_by_this_run" tests only the rows the current invocation
        loaded into an incremental model (its loaded_by_invocation_id
        column), and "files_loaded_by_this_run" every row of the files
        (source_file) it loaded, including rows an earlier run left of
        them. It is resolved here, when the test runs, not when the YAML
        is parsed, so a reused (partially parsed) manifest cannot carry a
        stale invocation id. -#}
    {% set where = config.get('where') %}
    {% if where %}
        {% if where | trim == 'rows_loaded_by_this_run' %}
            {% set where = "loaded_by_invocation_id = '"
                ~ invocation_id ~ "'" %}
        {% elif where | trim == 'files_loaded_by_this_run' %}
            {% set where = "source_file in (select source_file from "
                ~ relation ~ " where loaded_by_invocation_id = '"
                ~ invocation_id ~ "')" %}
        {% endif %}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
