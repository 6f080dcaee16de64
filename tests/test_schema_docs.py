"""Every part of the public schema carries a description: clients and their generated
types are written from these, so nothing the API exposes is left unexplained."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    specified_scalar_types,
)

from learntwin_graphql.schema import schema


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def missing_descriptions(built: GraphQLSchema) -> list[str]:
    """Every type, field, argument, enum value and input field without a description,
    as `Type`, `Type.field`, `Type.field(arg)` or `Enum.VALUE`."""
    missing: list[str] = []
    for name, named in sorted(built.type_map.items()):
        if name.startswith("__"):
            continue
        if isinstance(named, GraphQLScalarType) and name in specified_scalar_types:
            continue
        _check_type(named, missing)
    return missing


def _check_type(named: GraphQLNamedType, missing: list[str]) -> None:
    name = named.name
    if _blank(named.description):
        missing.append(name)
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            if _blank(field.description):
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in field.args.items():
                if _blank(arg.description):
                    missing.append(f"{name}.{field_name}({arg_name})")
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, field in named.fields.items():
            if _blank(field.description):
                missing.append(f"{name}.{field_name}")
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            if _blank(value.description):
                missing.append(f"{name}.{value_name}")


def test_every_part_of_the_schema_is_described():
    missing = missing_descriptions(schema._schema)
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_check_sees_what_is_missing():
    from graphql import build_schema

    bare = build_schema(
        '"Documented." type Query { "Documented." a(x: Int): E b: Int }'
        " enum E { ONE TWO } input I { f: Int } scalar S"
    )
    assert missing_descriptions(bare) == [
        "E",
        "E.ONE",
        "E.TWO",
        "I",
        "I.f",
        "Query.a(x)",
        "Query.b",
        "S",
    ]
