"""Checking the arguments of a tool call a person approves or edits, against the tool's schema:
the tool's own pydantic model for tools declared in code, its JSON schema for an outside agent's."""

import jsonschema
import pydantic

from agents.models import Tool
from agents.tools.registry import DECLARED


class ArgumentsInvalid(ValueError):
    """The arguments do not fit the tool; the message names each field at fault."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.fields = fields or {}


def checked_arguments(tool: Tool, arguments) -> dict:
    """The arguments as the tool will receive them (normalised), or ArgumentsInvalid."""
    if not isinstance(arguments, dict):
        raise ArgumentsInvalid("The arguments must be an object.")
    declared = DECLARED.get(tool.name)
    if declared is not None and not tool.external:
        try:
            return declared.arguments.model_validate(arguments).model_dump(mode="json")
        except pydantic.ValidationError as error:
            fields = {}
            for problem in error.errors():
                name = ".".join(str(part) for part in problem["loc"]) or "arguments"
                fields.setdefault(name, []).append(problem["msg"])
            raise ArgumentsInvalid(_described(fields), fields)
    try:
        jsonschema.validate(arguments, tool.argument_schema or {"type": "object"})
    except jsonschema.ValidationError as error:
        name = ".".join(str(part) for part in error.absolute_path) or "arguments"
        raise ArgumentsInvalid(f"{name}: {error.message}", {name: [error.message]})
    except jsonschema.SchemaError:
        raise ArgumentsInvalid(f"The tool {tool.name} has no valid argument schema; an admin must fix it.")
    return arguments


def _described(fields: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
