{#- Funnels and session paths (issue 17): the vars, checked, and the
    expressions int_events_aggregated_to_session_days computes per session
    day from the list of its events' codes in time order. -#}

{% macro funnel_steps() %}
    {#- Var funnel_steps, checked: a list of at least one distinct event
        type, each one of var event_types. -#}
    {% set steps = var('funnel_steps') %}
    {% set event_types = var('event_types') %}
    {% if steps is string or steps is mapping or steps is not iterable
        or steps | length == 0 %}
        {% do exceptions.raise_compiler_error(
            'var funnel_steps must be a list of event types (one of var'
            ~ ' event_types: ' ~ event_types | join(', ') ~ '), got '
            ~ steps
        ) %}
    {% endif %}
    {% for step in steps %}
        {% if step not in event_types %}
            {% do exceptions.raise_compiler_error(
                'var funnel_steps: step ' ~ step ~ ' is not one of var'
                ~ ' event_types (' ~ event_types | join(', ')
                ~ '); name the steps as event_types spells them, or add'
                ~ ' the type to event_types'
            ) %}
        {% endif %}
        {% if step in steps[:loop.index0] %}
            {% do exceptions.raise_compiler_error(
                'var funnel_steps names step ' ~ step ~ ' twice ('
                ~ steps | join(', ') ~ '); each step must be distinct'
            ) %}
        {% endif %}
    {% endfor %}
    {{ return(steps | list) }}
{% endmacro %}


{% macro positive_integer_var(name) %}
    {#- Var name, checked: a whole number of at least 1. -#}
    {% set value = var(name) %}
    {% if value is not number or value is sameas true
        or value is sameas false or value != value | int or value < 1 %}
        {% do exceptions.raise_compiler_error(
            'var ' ~ name ~ ' must be a whole number of at least 1, got '
            ~ value
        ) %}
    {% endif %}
    {{ return(value | int) }}
{% endmacro %}


{% macro session_event_codes() %}
    {#- The event types in code order: the funnel steps in funnel order
        (codes 1 to the number of steps), then the other types of var
        event_types. Ordering a session's events by time then code puts
        events of the same instant in funnel order. -#}
    {% set steps = funnel_steps() %}
    {% set codes = steps[:] %}
    {% for event_type in var('event_types') %}
        {% if event_type not in steps %}
            {% do codes.append(event_type) %}
        {% endif %}
    {% endfor %}
    {% if codes | length > 255 %}
        {% do exceptions.raise_compiler_error(
            'var event_types: at most 255 event types, got '
            ~ codes | length
        ) %}
    {% endif %}
    {{ return(codes) }}
{% endmacro %}


{% macro session_rules() %}
    {#- The rules a session day's funnel_depth and session_path are
        computed with, as text (column session_rules): a file whose rows
        hold other rules is loaded again (source_file_increment). -#}
    {{ return(
        'funnel_steps=' ~ funnel_steps() | join('>')
        ~ ';session_path_max_steps='
        ~ positive_integer_var('session_path_max_steps')
    ) }}
{% endmacro %}


{% macro sql_text_list(values) -%}
    {#- A SQL list literal of text values. -#}
    [{% for value in values %}{{ sql_string(value) }}{{ ', ' if not loop.last }}{% endfor %}]
{%- endmacro %}


{% macro event_code(column) -%}
    {#- The code of event type column (session_event_codes), 1 to 255. -#}
    cast(list_position({{ sql_text_list(session_event_codes()) }}, {{ column }})
        as utinyint)
{%- endmacro %}


{% macro funnel_depth(codes) -%}
    {#- The funnel depth of a list of event codes in time order: the
        largest k such that funnel steps 1..k occur in that order (a
        greedy subsequence match: each event of the next step advances
        it; anything else, including a later step, does not). -#}
    cast(list_reduce(
        {{ codes }},
        lambda depth, code: case
            when code = depth + 1 and code <= {{ funnel_steps() | length }}
                then code
            else depth
        end,
        0
    ) as integer)
{%- endmacro %}


{% macro collapse_repeats(codes) -%}
    {#- A list of event codes without repeats: each code that equals the
        one before it is dropped. -#}
    list_filter({{ codes }}, lambda code, i: i = 1 or code <> {{ codes }}[i - 1])
{%- endmacro %}


{% macro session_path(collapsed_codes) -%}
    {#- The path of a list of event codes in time order, repeats collapsed
        (collapse_repeats): the event types, ' > ' separated, at most var
        session_path_max_steps steps, then ' > ...' if there were more. -#}
    {%- set max_steps = positive_integer_var('session_path_max_steps') -%}
    array_to_string(
        list_transform(
            {{ collapsed_codes }}[1:{{ max_steps }}],
            lambda code: {{ sql_text_list(session_event_codes()) }}[code]
        ),
        ' > '
    ) || case
        when length({{ collapsed_codes }}) > {{ max_steps }} then ' > ...'
        else ''
    end
{%- endmacro %}


{% macro funnel_step_event_counts(codes) -%}
    {#- Per funnel step, in funnel order, how many of the codes are that
        step's event type. -#}
    [
        {%- for step in funnel_steps() %}
            length(list_filter({{ codes }}, lambda code: code = {{ loop.index }}))
            {{- ', ' if not loop.last }}
        {%- endfor %}
    ]
{%- endmacro %}
