"""The checks of the workflows' node settings that go beyond their types: a JSON schema that is
one, rules whose conditions compile, a lookup of a declared safe tool, a reduce of a map node, a
review of the pipeline's own kind. Each problem names its node, as the admin shows it."""

import jmespath
from jmespath.exceptions import JMESPathError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from agents.kinds import RunKind, kind_named

RISK_LEVELS = ("low", "medium", "high", "critical")
REVIEW_OF_KIND = {RunKind.DOCUMENT_ANALYSIS: "signoff", RunKind.APPLICATION: "application"}


def problems(nodes: dict[str, dict], kind: str) -> list[str]:
    found = []
    for node_id, node in nodes.items():
        check = CHECKS.get(node.get("type"))
        if check:
            found += [f"node '{node_id}' ({node['type']}): {problem}" for problem in check(node, nodes, kind)]
    return found


def _condition_problem(expression) -> str | None:
    if not isinstance(expression, str) or not expression.strip():
        return "needs a condition (`when`)"
    try:
        jmespath.compile(expression)
    except JMESPathError as error:
        return f"invalid condition {expression!r}: {error}"
    return None


def _extract(node, nodes, kind) -> list[str]:
    schema = node.get("schema")
    if schema is None:
        return ["needs a JSON schema of the fields (`schema`)"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return [f"its schema is not a valid JSON schema: {error.message}"]
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        return ['its schema must be an object with properties, e.g. {"type": "object", "properties": {…}}']
    return []


def _rules(node, nodes, kind) -> list[str]:
    found = []
    for position, rule in enumerate(node.get("rules", []), start=1):
        if not isinstance(rule, dict):
            found.append(f"rule {position} must be an object")
            continue
        problem = _condition_problem(rule.get("when"))
        if problem:
            found.append(f"rule {position} {problem}")
        if node["type"] == "validate" and not isinstance(rule.get("name"), str):
            found.append(f"rule {position} needs a name")
        if node["type"] == "assess_risk" and rule.get("level") not in RISK_LEVELS:
            found.append(f"rule {position} needs a level: {', '.join(RISK_LEVELS)}")
        if node["type"] == "assess_risk" and not isinstance(rule.get("factor"), str):
            found.append(f"rule {position} needs a factor (what a reviewer reads)")
    return found


def _risk(node, nodes, kind) -> list[str]:
    found = _rules(node, nodes, kind)
    if not 0 <= node.get("unsure_below", 0.5) <= 1:
        found.append("unsure_below is a confidence between 0 and 1")
    return found


def _lookup(node, nodes, kind) -> list[str]:
    from agents.tools.registry import DECLARED, SAFE  # the tools are declared on import of agents.tools

    declared = DECLARED.get(node.get("tool"))
    if declared is None:
        return [f"there is no tool named {node.get('tool')!r}"]
    if declared.risk != SAFE:
        return [f"{declared.name} is gated: a workflow may only look things up with safe tools"]
    found = [] if isinstance(node.get("into"), str) and node["into"] else ["needs `into`: where the answer goes"]
    for name, expression in (node.get("arguments") or {}).items():
        problem = _condition_problem(expression)
        if problem:
            found.append(f"argument {name!r}: {problem.replace('condition', 'expression')}")
    return found


def _map(node, nodes, kind) -> list[str]:
    found = []
    for setting, low in (("pages_per_chunk", 1), ("max_chunk_chars", 500), ("max_attempts", 1)):
        if node.get(setting, low) < low:
            found.append(f"{setting} must be at least {low}")
    return found


def _reduce(node, nodes, kind) -> list[str]:
    source = nodes.get(node.get("from"))
    if source is None or source.get("type") != "map":
        return ["needs `from`: the id of the map node whose items it merges"]
    return []


def _review(node, nodes, kind) -> list[str]:
    wanted = REVIEW_OF_KIND.get(kind)
    if node.get("review", wanted) != wanted:
        return [f"{kind_named(kind).capitalize()} pipeline reviews as '{wanted}'"]
    return []


CHECKS = {
    "extract": _extract,
    "validate": _rules,
    "assess_risk": _risk,
    "lookup": _lookup,
    "map": _map,
    "reduce": _reduce,
    "human_review": _review,
}
