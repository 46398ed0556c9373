"""Every kind of output_type: its schema, the object read back, what is refused."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Literal, TypedDict

import msgspec
import pydantic
import pytest

from llmcore import InvalidRequestError
from llmcore.output import WRAPPED, inline_refs, output_spec
from llmcore.providers.structured import anthropic_schema, gemini_schema, openai_schema


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str | None = None


class Movie(TypedDict):
    title: str
    year: int


class Person(pydantic.BaseModel):
    """Someone."""

    name: str
    age: int = pydantic.Field(ge=0)
    colour: Colour = Colour.RED


class Tree(msgspec.Struct):
    name: str
    children: list[Tree] = []


def test_a_dataclass_with_an_optional_field() -> None:
    spec = output_spec(Point)
    assert spec.name == "Point" and not spec.wrapped
    assert spec.schema["required"] == ["x", "y"]
    assert spec.read('{"x": 1, "y": 2}') == Point(1, 2)
    assert spec.read('{"x": 1, "y": 2, "label": null}') == Point(1, 2)
    with pytest.raises(ValueError, match=r"Expected `int`, got `str` - at `\$\.y`"):
        spec.read('{"x": 1, "y": "2"}')
    # Optional and nullable: OpenAI strict mode can require it (null stands for absent).
    schema, strict = openai_schema(spec.schema)
    assert strict and schema["required"] == ["x", "y", "label"]


def test_a_typed_dict_and_a_literal() -> None:
    assert output_spec(Movie).read('{"title": "Heat", "year": 1995}') == {
        "title": "Heat",
        "year": 1995,
    }
    spec = output_spec(Literal["yes", "no"])
    assert spec.wrapped and spec.schema["properties"][WRAPPED] == {"enum": ["no", "yes"]}
    assert spec.read('{"result": "yes"}') == "yes"
    with pytest.raises(ValueError, match="expected an object with the key 'result'"):
        spec.read('"yes"')


def test_a_pydantic_model_keeps_its_constraints() -> None:
    spec = output_spec(Person)
    assert spec.name == "Person"
    assert spec.read('{"name": "Ada", "age": 36}') == Person(name="Ada", age=36)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        spec.read('{"name": "Ada", "age": -1}')
    # Anthropic takes no minimum: it moves into the description, and llmcore still checks it.
    claude = anthropic_schema(spec.schema)
    assert claude is not None
    age = claude["properties"]["age"]
    assert "minimum" not in age and age["description"] == "minimum: 0"
    # An optional field without null cannot be strict on OpenAI.
    assert openai_schema(spec.schema)[1] is False


def test_a_list_of_structs_is_wrapped_and_unwrapped() -> None:
    spec = output_spec(list[Point])
    assert spec.wrapped and spec.schema["type"] == "object"
    assert spec.schema["properties"][WRAPPED]["items"] == {"$ref": "#/$defs/Point"}
    assert spec.read('{"result": [{"x": 1, "y": 2}]}') == [Point(1, 2)]


def test_a_json_schema_dict_is_validated_with_jsonschema() -> None:
    schema = {
        "title": "Answer",
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}},
        "required": ["n"],
    }
    spec = output_spec(schema)
    assert spec.name == "Answer"
    assert spec.read('{"n": 3}') == {"n": 3}
    with pytest.raises(ValueError, match=r"\$.n: 0 is less than the minimum of 1"):
        spec.read('{"n": 0}')
    with pytest.raises(ValueError, match="not JSON"):
        spec.read("three")
    array = output_spec({"type": "array", "items": {"type": "string"}})
    assert array.wrapped and array.read('{"result": ["a"]}') == ["a"]
    with pytest.raises(InvalidRequestError, match="not a valid JSON schema"):
        output_spec({"type": "integer", "minimum": "one"})


def test_recursion_is_kept_where_it_can_be_and_refused_where_not() -> None:
    spec = output_spec(Tree)
    assert spec.read('{"name": "a", "children": [{"name": "b"}]}') == Tree("a", [Tree("b")])
    assert anthropic_schema(spec.schema) is None  # a forced tool carries it instead
    with pytest.raises(InvalidRequestError, match="refers to itself \\(Tree -> Tree\\)"):
        gemini_schema(spec.schema)


def test_refs_are_inlined_and_definitions_pruned() -> None:
    class Outer(msgspec.Struct):
        point: Point
        colour: Colour

    spec = output_spec(Outer)
    assert set(spec.schema["$defs"]) == {"Point", "Colour"}  # Outer itself is the root
    inlined = inline_refs(spec.schema)
    assert "$defs" not in json.dumps(inlined) and "$ref" not in json.dumps(inlined)
    assert inlined["properties"]["colour"]["enum"] == ["blue", "red"]


def test_the_schema_is_built_once_per_type() -> None:
    assert output_spec(Point) is output_spec(Point)
    assert output_spec({"type": "object"}) is output_spec({"type": "object"})


@pytest.mark.parametrize("bad", [complex, lambda: 1, {}, "Point", 3])
def test_what_is_not_a_type_is_refused(bad: object) -> None:
    with pytest.raises(InvalidRequestError):
        output_spec(bad)
