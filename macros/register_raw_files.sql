{#- The on-run-start hook: registering the raw files of the data folder
    as the `app` source's views, checked against the raw-data contract of
    the sources YAML, and listing them in the `loader` source for the
    incremental-by-file bookkeeping (incremental_by_file.sql). -#}

{% macro raw_data_contract() %}
    {#- The raw-data contract, read from the `app` source YAML (its one
        source of truth, also read by segmentation.cli): one entry per raw
        table with its schema and relation, the accepted file extensions
        (source meta file_extensions, in the order they are looked for),
        whether the table is required, and its columns with whether each is
        required. -#}
    {% set tables = [] %}
    {% for node in graph.sources.values()
        if node.package_name == project_name and node.source_name == 'app' %}
        {% set columns = [] %}
        {% for column in node.columns.values() %}
            {% set meta = (
                column.config.meta if column.config else column.meta
            ) %}
            {% do columns.append({
                'name': column.name,
                'required': meta.get('required', false),
            }) %}
        {% endfor %}
        {% do tables.append({
            'name': node.name,
            'schema': node.schema,
            'relation': source(node.source_name, node.name),
            'file_extensions': node.config.meta.get('file_extensions', []),
            'required': node.config.meta.get(
                'required', node.meta.get('required', false)
            ),
            'columns': columns,
        }) %}
    {% endfor %}
    {{ return(tables | sort(attribute='name')) }}
{% endmacro %}


{% macro drop_raw_relation(schema, name, keep_tables) %}
    {#- Through the adapter, so dbt's relation cache stays right for the
        seeds that may be loaded next in the same invocation. -#}
    {% set relation = adapter.get_relation(
        database=target.database, schema=schema, identifier=name
    ) %}
    {% if relation is not none
        and (relation.type == 'view' or not keep_tables) %}
        {% do adapter.drop_relation(relation) %}
    {% endif %}
{% endmacro %}


{% macro commit_hook_changes() %}
    {#- Hooks run in a transaction that dbt rolls back unless committed.
        The query makes sure a transaction is open, so commit never fails. -#}
    {% do run_query('select 1') %}
    {% do adapter.commit() %}
{% endmacro %}


{% macro null_column(name) -%}
    cast(null as varchar) as {{ name }}
{%- endmacro %}


{% macro find_raw_file(data_dir, table_name, file_extensions) %}
    {#- The raw data of a table in the data folder, or none: one file
        (<table>.<extension>, e.g. .parquet, .csv or .csv.gz) or a folder
        <table>/ of files of one format (returned as a glob). Both, or two
        formats, is an error. -#}
    {% set found = [] %}
    {% for extension in file_extensions %}
        {% for path in [
            data_dir ~ '/' ~ table_name ~ '.' ~ extension,
            data_dir ~ '/' ~ table_name ~ '/*.' ~ extension,
        ] %}
            {% set result = run_query(
                'select count(*) from glob(' ~ sql_string(path) ~ ')'
            ) %}
            {% if result.rows[0][0] > 0 %}
                {% do found.append(path) %}
            {% endif %}
        {% endfor %}
    {% endfor %}
    {% if found | length > 1 %}
        {% do exceptions.raise_compiler_error(
            'DATA folder ' ~ data_dir ~ ' holds ' ~ found | join(' and ')
            ~ ': keep one file, or one folder of files of one format, per'
            ~ ' raw table.'
        ) %}
    {% endif %}
    {% if found and '*' not in found[0] %}
        {% set size = run_query(
            'select size from read_blob(' ~ sql_string(found[0]) ~ ')'
        ) %}
        {% if size.rows[0][0] == 0 %}
            {{ log('raw.' ~ table_name ~ ': ' ~ found[0]
                ~ ' is empty (0 bytes): treated as absent', info=true) }}
            {{ return('empty:' ~ found[0]) }}
        {% endif %}
    {% endif %}
    {{ return(found[0] if found else none) }}
{% endmacro %}


{% macro raw_file_reader(path) -%}
    {#- Reads a file or a glob of files in place (never copied), naming the
        file each row came from in the column _source_file. -#}
    {%- if path.endswith('.parquet') -%}
        read_parquet({{ sql_string(path) }}, filename = '_source_file')
    {%- else -%}
        read_csv(
            {{ sql_string(path) }},
            header = true,
            all_varchar = true,
            filename = '_source_file'
        )
    {%- endif -%}
{%- endmacro %}


{% macro create_raw_file_listing() %}
    {#- The loader source's raw_files (raw_file_listing()): one row per file
        of each raw table read from the data folder, with a version (size
        and modification time) from which the incremental models tell new
        and changed files from loaded ones. Empty for the demo seeds. -#}
    {% set listing = raw_file_listing() %}
    {% do run_query('create schema if not exists ' ~ listing.schema) %}
    {% do run_query(
        'create or replace table ' ~ listing ~ ' ('
        ~ 'table_name varchar, source_file varchar, file_version varchar)'
    ) %}
{% endmacro %}


{% macro register_raw_files() %}
    {#- on-run-start: with var data_dir set, expose each raw file of the
        folder as a view raw.<table> holding exactly the contract's columns
        (extra columns dropped, missing optional columns null, absent
        optional tables empty). Stops with a message naming the file and
        column when a required file or column is missing. Without data_dir
        (demo seeds), removes views a previous data_dir run left behind. -#}
    {% if not execute %}
        {{ return('') }}
    {% endif %}
    {% set data_dir = var('data_dir', none) %}
    {% set contract = raw_data_contract() %}
    {% if data_dir is none or data_dir | trim == '' %}
        {% for table in contract %}
            {% do drop_raw_relation(table.schema, table.name, true) %}
        {% endfor %}
        {% do create_raw_file_listing() %}
        {% do commit_hook_changes() %}
        {{ return('') }}
    {% endif %}

    {% set data_dir = data_dir | trim %}
    {% set data_dir = data_dir[:-1] if data_dir.endswith('/') else data_dir %}
    {% set listing = run_query(
        'select count(*) from glob(' ~ sql_string(data_dir ~ '/*') ~ ')'
    ) %}
    {% if listing.rows[0][0] == 0 %}
        {% do exceptions.raise_compiler_error(
            'DATA folder ' ~ data_dir ~ ' does not exist or is empty.'
        ) %}
    {% endif %}

    {% do create_raw_file_listing() %}
    {% for table in contract %}
        {% set path = find_raw_file(
            data_dir, table.name, table.file_extensions
        ) %}
        {% if path is not none and path.startswith('empty:') %}
            {% if table.required %}
                {% do exceptions.raise_compiler_error(
                    'Raw file ' ~ path[6:] ~ ' is empty (0 bytes): the '
                    ~ table.name ~ ' table is required.'
                ) %}
            {% endif %}
            {% set path = none %}
        {% endif %}
        {% if path is none and table.required %}
            {% do exceptions.raise_compiler_error(
                'DATA folder ' ~ data_dir ~ ' has no ' ~ table.name
                ~ ' file: expected ' ~ table.name ~ '.csv or '
                ~ table.name ~ '.parquet (the ' ~ table.name
                ~ ' table is required).'
            ) %}
        {% endif %}
        {% set selected = [] %}
        {% if path is none %}
            {% for column in table.columns %}
                {% do selected.append(null_column(column.name)) %}
            {% endfor %}
            {% do selected.append("cast(null as varchar) as _source_file") %}
            {% set body = 'select ' ~ selected | join(', ') ~ ' where false' %}
        {% else %}
            {% set described = run_query(
                'describe select * from ' ~ raw_file_reader(path)
            ) %}
            {% set present = {} %}
            {% for row in described.rows if row[0] != '_source_file' %}
                {% do present.update({row[0] | trim | lower: row[0]}) %}
            {% endfor %}
            {% set missing = [] %}
            {% for column in table.columns %}
                {% if column.name in present %}
                    {% do selected.append(
                        '"' ~ present[column.name] | replace('"', '""')
                        ~ '" as ' ~ column.name
                    ) %}
                {% elif column.required %}
                    {% do missing.append(column.name) %}
                {% else %}
                    {% do selected.append(null_column(column.name)) %}
                {% endif %}
            {% endfor %}
            {% if missing %}
                {% do exceptions.raise_compiler_error(
                    'Raw file ' ~ path ~ ' is missing required column(s) '
                    ~ missing | join(', ') ~ '. Found: '
                    ~ present.values() | join(', ') ~ '.'
                ) %}
            {% endif %}
            {% do selected.append('parse_filename(_source_file) as _source_file') %}
            {% set body = 'select ' ~ selected | join(', ')
                ~ ' from ' ~ raw_file_reader(path) %}
        {% endif %}
        {% do run_query('create schema if not exists ' ~ table.schema) %}
        {% do drop_raw_relation(table.schema, table.name, false) %}
        {% do run_query('create view ' ~ table.relation ~ ' as ' ~ body) %}
        {% if path is not none %}
            {% do run_query(
                'insert into ' ~ raw_file_listing() ~ ' select '
                ~ sql_string(table.name) ~ ', parse_filename(filename), '
                ~ "cast(size as varchar) || ' bytes, modified ' || "
                ~ 'cast(epoch_ms(last_modified) as varchar)'
                ~ ' from read_blob(' ~ sql_string(path) ~ ')'
            ) %}
        {% endif %}
        {{ log(
            'raw.' ~ table.name ~ ' <- ' ~ (path or 'no file: empty'),
            info=true
        ) }}
    {% endfor %}
    {% do commit_hook_changes() %}
    {{ return('') }}
{% endmacro %}
