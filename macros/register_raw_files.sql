{% macro raw_data_contract() %}
    {#- The raw-data contract, read from the `app` source YAML: one entry per
        raw table with its schema, whether the table is required, and its
        columns with whether each is required. -#}
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


{% macro sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{% macro find_raw_file(data_dir, table_name) %}
    {#- The one file of a raw table in the data folder, or none. Two files
        for the same table (orders.csv and orders.parquet) is an error. -#}
    {% set found = [] %}
    {% for extension in ['parquet', 'csv', 'csv.gz'] %}
        {% set path = data_dir ~ '/' ~ table_name ~ '.' ~ extension %}
        {% set result = run_query(
            'select count(*) from glob(' ~ sql_string(path) ~ ')'
        ) %}
        {% if result.rows[0][0] > 0 %}
            {% do found.append(path) %}
        {% endif %}
    {% endfor %}
    {% if found %}
        {% set size = run_query(
            'select size from read_blob(' ~ sql_string(found[0]) ~ ')'
        ) %}
        {% if size.rows[0][0] == 0 %}
            {{ log('raw.' ~ table_name ~ ': ' ~ found[0]
                ~ ' is empty (0 bytes): treated as absent', info=true) }}
            {{ return('empty:' ~ found[0]) }}
        {% endif %}
    {% endif %}
    {% if found | length > 1 %}
        {% do exceptions.raise_compiler_error(
            'DATA folder ' ~ data_dir ~ ' holds ' ~ found | join(' and ')
            ~ ': keep one file per raw table.'
        ) %}
    {% endif %}
    {{ return(found[0] if found else none) }}
{% endmacro %}


{% macro raw_file_reader(path) -%}
    {%- if path.endswith('.parquet') -%}
        read_parquet({{ sql_string(path) }})
    {%- else -%}
        read_csv({{ sql_string(path) }}, header = true, all_varchar = true)
    {%- endif -%}
{%- endmacro %}


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

    {% for table in contract %}
        {% set path = find_raw_file(data_dir, table.name) %}
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
            {% set body = 'select ' ~ selected | join(', ') ~ ' where false' %}
        {% else %}
            {% set described = run_query(
                'describe select * from ' ~ raw_file_reader(path)
            ) %}
            {% set present = {} %}
            {% for row in described.rows %}
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
            {% set body = 'select ' ~ selected | join(', ')
                ~ ' from ' ~ raw_file_reader(path) %}
        {% endif %}
        {% do run_query('create schema if not exists ' ~ table.schema) %}
        {% do drop_raw_relation(table.schema, table.name, false) %}
        {% do run_query(
            'create view ' ~ table.schema ~ '.' ~ table.name ~ ' as ' ~ body
        ) %}
        {{ log(
            'raw.' ~ table.name ~ ' <- ' ~ (path or 'no file: empty'),
            info=true
        ) }}
    {% endfor %}
    {% do commit_hook_changes() %}
    {{ return('') }}
{% endmacro %}
