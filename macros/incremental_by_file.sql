{#- The incremental-by-file bookkeeping: models that read raw table rows
    load them file by file, comparing the files the on-run-start hook
    listed in the loader source (register_raw_files.sql) with the files
    they have already loaded. -#}

{% macro raw_file_listing(listing_model=none) %}
    {#- The relation of the listing of raw files, resolved in one place:
        source loader.raw_files (for the hook and the staging models), or,
        for a model after staging, the staging model listing_model over it
        (stg_loader__raw_files), which that model also refs in its body so
        that the dependency shows in the DAG: only staging reads sources. -#}
    {% if listing_model is not none %}
        {{ return(ref(listing_model)) }}
    {% endif %}
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


{% macro incremental_by_file(table_name, listing_model=none, rules=none) %}
    {#- The config of a model loaded file by file from raw table
        table_name: appended per new or changed file, after a pre-hook
        removed the rows of files that changed or disappeared; rebuilt in
        full for the demo seeds (which have no files), and with
        --full-refresh (full_refresh unset: dbt's flag decides; false would
        ignore the flag). listing_model: see raw_file_listing. rules: see
        source_file_increment; a model with rules migrates by itself when
        its columns change (new columns are added, every file reloaded),
        one without stops on a schema change (on_schema_change fail). -#}
    {% set listing_arg = (
        ", '" ~ listing_model ~ "'" if listing_model is not none
        else (', none' if rules is not none else '')
    ) %}
    {% set rules_arg = (
        ', ' ~ (rules | tojson) if rules is not none else ''
    ) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': (
            'fail' if rules is none else 'append_new_columns'
        ),
        'full_refresh': true if var('data_dir', none) is none else none,
        'pre_hook': "{{ delete_unkept_source_files('" ~ table_name ~ "'"
            ~ listing_arg ~ rules_arg ~ ") }}",
    }) }}
{% endmacro %}


{% macro source_file_increment(table_name, listing_model=none, rules=none) %}
    {#- For an incremental model reading raw table table_name from the data
        folder: the files to load this run (new, or changed since they were
        loaded) and the loaded files to keep (unchanged), by comparing the
        raw file listing with the source_file/source_file_version columns
        of the model's existing table. none outside incremental runs (load
        everything). rules: for a model whose rows depend on vars, a
        mapping {'column': <column>, 'value': <text>}: the column holds,
        on every row, the rules (vars) the row was computed with; a file
        whose rows hold other rules, or a table without the column (built
        before it existed), is loaded again, so that changing the vars or
        the model's columns needs no full refresh. -#}
    {% if not execute or not is_incremental() %}
        {{ return(none) }}
    {% endif %}
    {% set listing = run_query(
        "select source_file, file_version from "
        ~ raw_file_listing(listing_model)
        ~ " where table_name = " ~ sql_string(table_name)
        ~ " order by source_file"
    ) %}
    {% set current_rules = 'true' %}
    {% if rules is not none %}
        {% set existing_columns = adapter.get_columns_in_relation(this)
            | map(attribute='name') | map('lower') | list %}
        {% if rules['column'] | lower in existing_columns %}
            {% set current_rules = rules['column'] ~ ' = '
                ~ sql_string(rules['value']) %}
        {% else %}
            {% set current_rules = 'false' %}
        {% endif %}
        {% set stale = run_query(
            'select count(*) from ' ~ this ~ ' where not coalesce('
            ~ current_rules ~ ', false)'
        ).columns[0].values()[0] %}
        {% if stale > 0 %}
            {{ log(
                'incremental ' ~ this.identifier ~ ': rows computed with'
                ~ ' other rules or columns than this run\'s ('
                ~ rules['value'] ~ '): their files are loaded again',
                info=true
            ) }}
        {% endif %}
    {% endif %}
    {% set loaded = run_query(
        'select distinct source_file, source_file_version from ' ~ this
        ~ ' where coalesce(' ~ current_rules ~ ', false)'
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


{% macro delete_unkept_source_files(table_name, listing_model=none, rules=none) %}
    {#- Pre-hook of the incremental models reading raw files: before new and
        changed files are loaded, remove the rows of files that changed or
        disappeared from the data folder (or hold other rules: see
        source_file_increment). -#}
    {% set increment = source_file_increment(table_name, listing_model, rules) %}
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
