{#- The incremental-by-file bookkeeping: models that read raw table rows
    load them file by file, comparing the files the on-run-start hook
    listed in the loader source (register_raw_files.sql) with the files
    they have already loaded. -#}

{% macro raw_file_listing() %}
    {#- The relation of the listing of raw files, source loader.raw_files,
        resolved in one place. source() resolves at run time in any model
        or hook context, but it is called only past the `execute` guards
        (never while dbt parses), so it adds no source dependency to the
        intermediate models that use this bookkeeping: only staging models
        depend on sources. -#}
    {{ return(source('loader', 'raw_files')) }}
{% endmacro %}


{% macro source_file_column(relation) -%}
    {#- The name of the file a raw row came from (without its folder), or
        the relation's name for raw tables loaded as seeds (the demo). -#}
    {%- set columns = adapter.get_columns_in_relation(relation)
        if execute else [] -%}
    {%- if columns | selectattr('name', 'equalto', '_source_file')
        | list | length > 0 -%}
        _source_file
    {%- else -%}
        {{ sql_string(relation.identifier) }}
    {%- endif -%}
{%- endmacro %}


{% macro incremental_by_file(table_name) %}
    {#- The config of a model loaded file by file from raw table
        table_name: appended per new or changed file, after a pre-hook
        removed the rows of files that changed or disappeared; rebuilt in
        full for the demo seeds (which have no files). -#}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'full_refresh': var('data_dir', none) is none,
        'pre_hook': "{{ delete_unkept_source_files('" ~ table_name ~ "') }}",
    }) }}
{% endmacro %}


{% macro source_file_increment(table_name) %}
    {#- For an incremental model reading raw table table_name from the data
        folder: the files to load this run (new, or changed since they were
        loaded) and the loaded files to keep (unchanged), by comparing the
        raw file listing with the source_file/source_file_version columns
        of the model's existing table. none outside incremental runs (load
        everything). -#}
    {% if not execute or not is_incremental() %}
        {{ return(none) }}
    {% endif %}
    {% set listing = run_query(
        "select source_file, file_version from " ~ raw_file_listing()
        ~ " where table_name = " ~ sql_string(table_name)
        ~ " order by source_file"
    ) %}
    {% set loaded = run_query(
        'select distinct source_file, source_file_version from ' ~ this
    ) %}
    {% set loaded_versions = [] %}
    {% for row in loaded.rows %}
        {% do loaded_versions.append(row[0] ~ '|' ~ row[1]) %}
    {% endfor %}
    {% set increment = {'load': [], 'keep': []} %}
    {% for row in listing.rows %}
        {% if (row[0] ~ '|' ~ row[1]) in loaded_versions %}
            {% do increment['keep'].append(row[0]) %}
        {% else %}
            {% do increment['load'].append(row[0]) %}
        {% endif %}
    {% endfor %}
    {{ log(
        'incremental ' ~ this.identifier ~ ': ' ~ increment['load'] | length
        ~ ' new or changed file(s) of raw.' ~ table_name ~ ' to load, '
        ~ increment['keep'] | length ~ ' unchanged',
        info=true
    ) }}
    {{ return(increment) }}
{% endmacro %}


{% macro source_file_filter(increment, column='source_file') -%}
    {#- The where-clause predicate selecting the rows of the files to load
        (true outside incremental runs). -#}
    {%- if increment is none -%}
        true
    {%- elif increment['load'] -%}
        {{ column }} in (
            {%- for file in increment['load'] -%}
                {{ sql_string(file) }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}


{% macro delete_unkept_source_files(table_name) %}
    {#- Pre-hook of the incremental models reading raw files: before new and
        changed files are loaded, remove the rows of files that changed or
        disappeared from the data folder. -#}
    {% set increment = source_file_increment(table_name) %}
    {% if increment is none %}
        {{ return('') }}
    {% endif %}
    {% set statement %}
        delete from {{ this }}
        {% if increment['keep'] -%}
            where source_file not in (
                {%- for file in increment['keep'] -%}
                    {{ sql_string(file) }}{{ ', ' if not loop.last }}
                {%- endfor -%}
            )
        {%- endif %}
    {% endset %}
    {{ return(statement) }}
{% endmacro %}
