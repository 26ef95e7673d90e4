{#- The on-run-start hook: reading the raw files of the data folder as the
    `app` source's views. Which files belong to which table and how each
    is read (encoding, delimiter, decimal separator, date formats, column
    names) is planned once, in Python (segmentation.intake, also called by
    make run before dbt starts), through the SQL function
    segments_raw_file_plan that the project's dbt-duckdb plugin
    (segmentation.dbt_plugin) registers. This file turns the plan into
    views, lists the files in the `loader` source for the
    incremental-by-file bookkeeping (incremental_by_file.sql), and keeps
    the lines the CSV reader could not split into columns as the loader's
    malformed_rows, so that no raw line is lost without a reason. -#}

{% macro raw_data_contract() %}
    {#- The raw-data contract, read from the `app` source YAML (its one
        source of truth, also read by segmentation.cli): one entry per raw
        table with its schema and relation, the accepted file extensions
        (source meta file_extensions), whether the table is required, and
        its columns with whether each is required, its data_type and
        whether it holds personal data (meta contains_pii). -#}
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
                'data_type': column.data_type or 'varchar',
                'contains_pii': meta.get('contains_pii', false),
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


{% macro raw_read_settings(contract) %}
    {#- The reading settings handed to the intake planner: the contract's
        file extensions and the vars that override what it detects. -#}
    {{ return({
        'file_extensions': contract[0].file_extensions,
        'csv_encoding': var('csv_encoding', none),
        'csv_delimiter': var('csv_delimiter', none),
        'decimal_separator': var('decimal_separator', none),
        'date_format': var('date_format', none),
        'raw_table_formats': var('raw_table_formats', {}) or {},
        'ignore_files': var('ignore_files', []) or [],
    }) }}
{% endmacro %}


{% macro plan_raw_files(data_dir, contract) %}
    {#- The intake plan of the data folder (segmentation.intake), or a stop
        with the planner's message naming each file, problem and fix. -#}
    {% set tables = [] %}
    {% for table in contract %}
        {% do tables.append({
            'name': table.name,
            'required': table.required,
            'columns': table.columns,
        }) %}
    {% endfor %}
    {% set request = {
        'data_dir': data_dir,
        'contract': tables,
        'settings': raw_read_settings(contract),
    } %}
    {% set answer = fromjson(run_query(
        'select segments_raw_file_plan(' ~ sql_string(tojson(request)) ~ ')'
    ).rows[0][0]) %}
    {% if answer.error %}
        {% do exceptions.raise_compiler_error(answer.error) %}
    {% endif %}
    {{ return(answer.plan) }}
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


{% macro sql_string_list(values) -%}
    [{% for value in values %}{{ sql_string(value) }}
        {{- ', ' if not loop.last }}{% endfor %}]
{%- endmacro %}


{% macro raw_reader(reader, store_rejects=false) -%}
    {#- The table function reading one planned group of files in place (or
        their converted copies), naming each row's file in _source_file.
        Text is read as text, with the plan's options, the columns of all
        files united by name, the var null_literals as nulls, and lines
        that cannot be split into the header's columns left out: the hook
        keeps those as malformed rows (store_rejects, raw_malformed_rows). -#}
    {%- if reader.format == 'parquet' -%}
        read_parquet(
            {{ sql_string_list(reader.files) }},
            union_by_name = true,
            hive_partitioning = {{ reader.hive_partitioning | default(false) }},
            filename = '_source_file'
        )
    {%- else -%}
        read_csv(
            {{ sql_string_list(reader.files) }},
            header = true,
            all_varchar = true,
            delim = {{ sql_string(reader.options.delimiter) }},
            quote = {{ sql_string(reader.options.quote) }},
            escape = {{ sql_string(reader.options.escape) }},
            encoding = {{ sql_string(reader.options.encoding) }},
            compression = {{ sql_string(reader.options.compression) }},
            skip = {{ reader.options.skip | default(0) | int }},
            nullstr = {{ sql_string_list(var('null_literals')) }},
            hive_partitioning = {{ reader.hive_partitioning | default(false) }},
            ignore_errors = true,
            {% if not store_rejects -%}
            union_by_name = true,
            {% else -%}
            store_rejects = true,
            rejects_table = 'segments_reject_errors',
            rejects_scan = 'segments_reject_scans',
            {% endif -%}
            filename = '_source_file'
        )
    {%- endif -%}
{%- endmacro %}


{% macro decode_decimal(expression, decimal_separator) -%}
    {#- A number as the file wrote it -> the contract's text form (a point
        before the decimals, no group separators): 1.234,50 or 1 234,50
        with decimal_separator ',', 1,234.50 with '.'. Other text is kept
        as it is, for staging to reject with its raw value. -#}
    {%- set text = 'trim(' ~ expression ~ ')' -%}
    {%- if decimal_separator == ',' -%}
        case
            when regexp_full_match(
                {{ text }},
                '[+-]?(\d{1,3}([.\s\x{00A0}\x{202F}]\d{3})+|\d+)(,\d+)?'
            )
                then replace(
                    regexp_replace({{ text }}, '[.\s\x{00A0}\x{202F}]', '', 'g'),
                    ',',
                    '.'
                )
            else {{ expression }}
        end
    {%- else -%}
        case
            when regexp_full_match({{ text }}, '[+-]?\d{1,3}(,\d{3})+(\.\d+)?')
                then replace({{ text }}, ',', '')
            else {{ expression }}
        end
    {%- endif -%}
{%- endmacro %}


{% macro decode_timestamp(expression, date_format) -%}
    {#- A date or time written in date_format (a strptime format, or epoch_s,
        epoch_ms, excel) -> ISO 8601 text (UTC). Values that do not match
        are kept as they are, for staging to parse or reject. -#}
    {%- set text = 'trim(cast(' ~ expression ~ ' as varchar))' -%}
    {%- set number = "regexp_full_match(" ~ text ~ ", '[+-]?\d+(\.\d+)?')" -%}
    {%- if date_format in ('epoch_s', 'epoch_ms', 'excel') -%}
        {%- set micros = {
            'epoch_s': 'cast(' ~ text ~ ' as double) * 1000000',
            'epoch_ms': 'cast(' ~ text ~ ' as double) * 1000',
            'excel': '(cast(' ~ text ~ ' as double) - 25569) * 86400000000',
        }[date_format] -%}
        coalesce(
            case
                when {{ number }}
                    then cast(try(make_timestamp(
                        cast(round({{ micros }}) as bigint)
                    )) as varchar)
            end,
            {{ text }}
        )
    {%- else -%}
        coalesce(
            cast(try_strptime({{ text }}, {{ sql_string(date_format) }})
                as varchar),
            {{ text }}
        )
    {%- endif -%}
{%- endmacro %}


{% macro source_file_name(reader) -%}
    {#- The plan's name of the file a row came from, from the path DuckDB
        read: the path minus the reader's root, or, when a file was read
        through a link or copy whose name had to be escaped, looked up by
        its position in the plan. -#}
    {%- set by_position = [] -%}
    {%- for path in reader.files -%}
        {%- if path != reader.root ~ '/' ~ reader.source_files[loop.index0] -%}
            {%- do by_position.append(path) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if by_position -%}
        case _source_file
            {%- for path in reader.files %}
            when {{ sql_string(path) }}
                then {{ sql_string(reader.source_files[loop.index0]) }}
            {%- endfor %}
        end
    {%- else -%}
        substr(_source_file, {{ reader.root | length + 2 }})
    {%- endif -%}
{%- endmacro %}


{% macro raw_reader_select(table, reader) -%}
    {#- One planned reader's rows as exactly the contract's columns: extra
        columns dropped, missing optional ones null, numbers and dates
        decoded from the file's format, _source_file relative to the
        table's folder (or the data folder). -#}
    {%- set selected = [] -%}
    {%- for column in table.columns -%}
        {%- if column.name in reader.columns -%}
            {%- set expression = '"' ~ reader.columns[column.name]
                | replace('"', '""') ~ '"' -%}
            {%- if column.data_type in ('timestamp', 'date')
                and column.name in reader.date_formats -%}
                {%- set expression = decode_timestamp(
                    expression, reader.date_formats[column.name]
                ) -%}
            {%- elif column.data_type == 'decimal'
                and reader.format == 'csv' -%}
                {%- set expression = decode_decimal(
                    expression, reader.decimal_separator
                ) -%}
            {%- endif -%}
            {%- do selected.append(expression ~ ' as ' ~ column.name) -%}
        {%- else -%}
            {%- do selected.append(null_column(column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do selected.append(source_file_name(reader) ~ ' as _source_file') -%}
    select {{ selected | join(', ') }} from {{ raw_reader(reader) }}
{%- endmacro %}


{% macro create_loader_tables(keep_scans=true) %}
    {#- The loader source's tables: raw_files (one row per raw file read,
        with a version = size and modification time, from which the
        incremental models tell new and changed files from loaded ones),
        recreated empty; malformed_rows (lines of text files that could not
        be read as rows) and raw_file_scans (the text files already
        scanned for such lines, with their version and read options), kept
        between runs (unless keep_scans is false), so an unchanged file is
        not scanned again. All stay empty for the demo seeds. -#}
    {% set listing = raw_file_listing() %}
    {% set replace = 'create table if not exists ' if keep_scans
        else 'create or replace table ' %}
    {% do run_query('create schema if not exists ' ~ listing.schema) %}
    {% do run_query(
        'create or replace table ' ~ listing ~ ' ('
        ~ 'table_name varchar, source_file varchar, file_version varchar)'
    ) %}
    {% do run_query(
        replace ~ source('loader', 'malformed_rows') ~ ' ('
        ~ 'table_name varchar, source_file varchar, line_number bigint,'
        ~ ' raw_line varchar, problem varchar)'
    ) %}
    {% do run_query(
        replace ~ raw_file_scans() ~ ' ('
        ~ 'table_name varchar, source_file varchar, scan_version varchar)'
    ) %}
{% endmacro %}


{% macro raw_file_scans() %}
    {#- The hook's own record of the text files scanned for malformed
        lines (not a source: no model reads it). -#}
    {% set listing = raw_file_listing() %}
    {{ return(api.Relation.create(
        database=listing.database,
        schema=listing.schema,
        identifier='raw_file_scans',
    )) }}
{% endmacro %}


{% macro store_malformed_rows(table, reader) %}
    {#- Reads the text files of a reader that are new, changed or read with
        other options since their last scan once more, file by file (DuckDB
        stores rejects only without union_by_name), asking DuckDB to store
        the lines it leaves out (too many or too few fields, a broken
        quote, an over-long line), and keeps them with their file, line
        number, text and problem in the loader's malformed_rows. -#}
    {% set malformed = source('loader', 'malformed_rows') %}
    {% set options = tojson(reader.options) ~ tojson(var('null_literals')) %}
    {% for path in reader.files %}
        {% set source_file = reader.source_files[loop.index0] %}
        {% set scan_version = reader.file_versions[loop.index0] ~ ' '
            ~ local_md5(options) %}
        {% set match = ' where table_name = ' ~ sql_string(table.name)
            ~ ' and source_file = ' ~ sql_string(source_file) %}
        {% set scanned = run_query(
            'select count(*) from ' ~ raw_file_scans() ~ match
            ~ ' and scan_version = ' ~ sql_string(scan_version)
        ).rows[0][0] %}
        {% if scanned == 0 %}
            {% do run_query('delete from ' ~ malformed ~ match) %}
            {% do run_query('delete from ' ~ raw_file_scans() ~ match) %}
            {% do run_query('drop table if exists segments_reject_errors') %}
            {% do run_query('drop table if exists segments_reject_scans') %}
            {% set one_file = {} %}
            {% do one_file.update(reader) %}
            {% do one_file.update({'files': [path]}) %}
            {% do run_query(
                'select count(*) from '
                ~ raw_reader(one_file, store_rejects=true)
            ) %}
            {#- DuckDB may report a line more than once (one error per
                surplus field): the last error of a line describes it. -#}
            {% do run_query(
                'insert into ' ~ malformed ~ ' select '
                ~ sql_string(table.name) ~ ', ' ~ sql_string(source_file)
                ~ ', error.line, any_value(error.csv_line), arg_max('
                ~ "lower(cast(error.error_type as varchar)) || ': ' || "
                ~ 'error.error_message, error.byte_position)'
                ~ ' from segments_reject_errors as error group by error.line'
            ) %}
            {% do run_query(
                'insert into ' ~ raw_file_scans() ~ ' values ('
                ~ sql_string(table.name) ~ ', ' ~ sql_string(source_file)
                ~ ', ' ~ sql_string(scan_version) ~ ')'
            ) %}
        {% endif %}
    {% endfor %}
{% endmacro %}


{% macro forget_unlisted_scans() %}
    {#- Drops the malformed lines and scan records of files no longer read
        (removed, or no longer a text file of that table). -#}
    {% for relation in [source('loader', 'malformed_rows'), raw_file_scans()] %}
        {% do run_query(
            'delete from ' ~ relation ~ ' as kept where not exists ('
            ~ 'select 1 from ' ~ raw_file_listing() ~ ' as listed'
            ~ ' where listed.table_name = kept.table_name'
            ~ ' and listed.source_file = kept.source_file)'
        ) %}
    {% endfor %}
{% endmacro %}


{% macro register_raw_files() %}
    {#- on-run-start: with var data_dir set, expose each raw table of the
        folder as a view raw.<table> holding exactly the contract's columns
        (absent optional tables empty), read as the intake plan says. Stops
        with the planner's message when a file cannot be read. Without
        data_dir (demo seeds), removes views a previous data_dir run left
        behind. -#}
    {% if not execute %}
        {{ return('') }}
    {% endif %}
    {% set data_dir = var('data_dir', none) %}
    {% set contract = raw_data_contract() %}
    {% set use_seeds = data_dir is none or data_dir | trim == '' %}
    {% do create_loader_tables(keep_scans=not use_seeds) %}
    {% if use_seeds %}
        {% for table in contract %}
            {% do drop_raw_relation(table.schema, table.name, true) %}
        {% endfor %}
        {% do commit_hook_changes() %}
        {{ return('') }}
    {% endif %}

    {% set plan = plan_raw_files(data_dir | trim, contract) %}
    {% for table in contract %}
        {% set readers = plan.tables[table.name].readers %}
        {% if readers %}
            {% set selects = [] %}
            {% for reader in readers %}
                {% do selects.append(raw_reader_select(table, reader)) %}
            {% endfor %}
            {% set body = selects | join(' union all by name ') %}
        {% else %}
            {% set selected = [] %}
            {% for column in table.columns %}
                {% do selected.append(null_column(column.name)) %}
            {% endfor %}
            {% do selected.append(null_column('_source_file')) %}
            {% set body = 'select ' ~ selected | join(', ') ~ ' where false' %}
        {% endif %}
        {% do run_query('create schema if not exists ' ~ table.schema) %}
        {% do drop_raw_relation(table.schema, table.name, false) %}
        {% do run_query('create view ' ~ table.relation ~ ' as ' ~ body) %}
        {% for reader in readers %}
            {% set listed = [] %}
            {% for source_file in reader.source_files %}
                {% do listed.append('(' ~ sql_string(table.name) ~ ', '
                    ~ sql_string(source_file) ~ ', '
                    ~ sql_string(reader.file_versions[loop.index0]) ~ ')') %}
            {% endfor %}
            {% do run_query('insert into ' ~ raw_file_listing()
                ~ ' values ' ~ listed | join(', ')) %}
            {% if reader.format == 'csv' %}
                {% do store_malformed_rows(table, reader) %}
            {% endif %}
        {% endfor %}
        {{ log('raw.' ~ table.name ~ ' <- ' ~ plan.tables[table.name].description) }}
    {% endfor %}
    {% do forget_unlisted_scans() %}
    {% for note in plan.notes %}
        {{ log('raw data: ' ~ note) }}
    {% endfor %}
    {% do commit_hook_changes() %}
    {{ return('') }}
{% endmacro %}
