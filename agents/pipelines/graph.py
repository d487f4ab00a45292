"""Pipeline graphs: their JSON shape, the checks an admin's edit must pass, and routing.

A graph is `{"start": id, "nodes": [{"id", "type", ...settings}], "edges": [{"from", "to",
"when"?, "reason"?}]}`. A node's outgoing edges are tried in order; the first whose JMESPath
condition holds over the run state (or that has none) is taken. An edge into a handover node
may carry the `reason` the brief gives.

Which node types a graph may use depends on its pipeline's kind: a chat turn's graph needs a
handover node (failures and limits end there); a workflow's graph ends in `finish`, and a run
that cannot go on fails with its reason.
"""

from dataclasses import dataclass

import jmespath
from jmespath.exceptions import JMESPathError

from agents.kinds import RunKind, kind_named
from agents.pipelines import node_settings

SINKS = {"finish", "handover"}
# Each node type with the settings it accepts (and their types).
NODE_TYPES: dict[str, dict[str, type]] = {
    "guard": {},
    "classify": {},
    "retrieve": {"limit": int, "min_similarity": float},
    "answer": {"max_tool_rounds": int},
    "summarize": {"mode": str},
    "condition": {},
    "finish": {},
    "handover": {"reason": str},
    "extract": {"schema": dict},
    "validate": {"rules": list, "llm_check": bool},
    "lookup": {"tool": str, "arguments": dict, "into": str},
    "assess_risk": {"rules": list, "unsure_below": float},
    "map": {"pages_per_chunk": int, "max_chunk_chars": int, "max_attempts": int},
    "reduce": {"from": str},
    "human_review": {"review": str},
    "decide": {},
    "notify": {"callback": bool},
}
# The node types each kind of pipeline may use.
KIND_NODE_TYPES: dict[str, set[str]] = {
    RunKind.TURN: {"guard", "classify", "retrieve", "answer", "summarize", "condition", "finish", "handover"},
    RunKind.DOCUMENT_ANALYSIS: {"map", "reduce", "human_review", "notify", "condition", "finish"},
    RunKind.APPLICATION: {"extract", "validate", "lookup", "assess_risk", "human_review", "decide", "notify",
                          "condition", "finish"},
}  # fmt: skip
COMMON_SETTINGS = {"id": str, "type": str, "max_visits": int, "label": str}
EDGE_KEYS = {"from", "to", "when", "reason"}


class GraphError(ValueError):
    """The graph cannot run; `problems` name the nodes and edges at fault."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    when: str = ""
    reason: str = ""


class Graph:
    """A checked graph, ready to route a run."""

    def __init__(self, definition: dict, kind: str = RunKind.TURN):
        problems = graph_problems(definition, kind)
        if problems:
            raise GraphError(problems)
        self.kind = kind
        self.start: str = definition["start"]
        self.nodes: dict[str, dict] = {node["id"]: node for node in definition["nodes"]}
        self.edges: dict[str, list[Edge]] = {node_id: [] for node_id in self.nodes}
        for edge in definition["edges"]:
            self.edges[edge["from"]].append(_edge(edge))
        self._conditions = {
            edge.when: jmespath.compile(edge.when) for edges in self.edges.values() for edge in edges if edge.when
        }

    def type_of(self, node_id: str) -> str:
        return self.nodes[node_id]["type"]

    def handover_sink(self) -> str | None:
        """Where failures and limits end a turn: the first handover node (a workflow has none)."""
        return next((node_id for node_id, node in self.nodes.items() if node["type"] == "handover"), None)

    def route(self, node_id: str, state: dict, *, suppressed: tuple[str, ...] = ()) -> Edge:
        """The edge a run takes out of `node_id`. A conditional edge whose reason is suppressed
        (the reason a person just handled) is passed over."""
        for edge in self.edges[node_id]:
            if not edge.when:
                return edge
            if edge.reason in suppressed:
                continue
            if truthy(self._conditions[edge.when].search(state)):
                return edge
        raise GraphError([f"node '{node_id}' has no edge to take"])  # prevented by the checks


def truthy(value) -> bool:
    # JMESPath's own notion of truth: 0 is true, empty things and null are false.
    return value is not None and value is not False and value != "" and value != [] and value != {}


def _edge(edge: dict) -> Edge:
    return Edge(edge["from"], edge["to"], edge.get("when") or "", edge.get("reason") or "")


# Checks -----------------------------------------------------------------------------------


def graph_problems(definition, kind: str = RunKind.TURN) -> list[str]:
    """Everything wrong with a graph of a pipeline of this kind, each naming the node or edge at
    fault; [] when it can run."""
    if not isinstance(definition, dict):
        return ["the graph must be a JSON object with start, nodes and edges"]
    problems = _shape_problems(definition, kind)
    if problems:
        return problems
    nodes = {node["id"]: node for node in definition["nodes"]}
    edges = [_edge(edge) for edge in definition["edges"]]
    problems += _edge_problems(nodes, edges)
    problems += node_settings.problems(nodes, kind)
    if any(edge.source not in nodes or edge.target not in nodes for edge in edges):
        return problems  # the flow cannot be followed through edges to nowhere
    return problems + _flow_problems(definition["start"], nodes, edges, kind)


def _shape_problems(definition: dict, kind: str) -> list[str]:
    problems = []
    unknown = set(definition) - {"start", "nodes", "edges"}
    if unknown:
        problems.append(f"unknown graph keys: {', '.join(sorted(unknown))}")
    if not isinstance(definition.get("nodes"), list) or not definition["nodes"]:
        return [*problems, "nodes must be a non-empty list"]
    if not isinstance(definition.get("edges"), list):
        return [*problems, "edges must be a list"]
    seen = set()
    for position, node in enumerate(definition["nodes"], start=1):
        problems += _node_problems(position, node, seen, kind)
    for position, edge in enumerate(definition["edges"], start=1):
        if not isinstance(edge, dict) or not isinstance(edge.get("from"), str) or not isinstance(edge.get("to"), str):
            problems.append(f"edge {position} needs a from and a to node id")
        elif set(edge) - EDGE_KEYS:
            problems.append(f"edge {position} ({edge['from']} → {edge['to']}) has unknown keys: "
                            f"{', '.join(sorted(set(edge) - EDGE_KEYS))}")  # fmt: skip
    if definition.get("start") not in seen:
        problems.append(f"start node '{definition.get('start')}' is not one of the nodes")
    return problems


def _node_problems(position: int, node, seen: set, kind: str) -> list[str]:
    if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node["id"]:
        return [f"node {position} needs an id"]
    node_id, node_type = node["id"], node.get("type")
    if node_id in seen:
        return [f"node '{node_id}' is defined twice"]
    seen.add(node_id)
    known = [name for name in NODE_TYPES if name in KIND_NODE_TYPES[kind]]
    if node_type not in known:
        return [f"node '{node_id}' has unknown type '{node_type}' (known in {kind_named(kind)} pipeline: "
                f"{', '.join(known)})"]  # fmt: skip
    allowed = NODE_TYPES[node_type] | COMMON_SETTINGS
    problems = []
    for key, value in node.items():
        if key not in allowed:
            problems.append(f"node '{node_id}' ({node_type}) has unknown setting '{key}'")
        elif not isinstance(value, allowed[key]) or (isinstance(value, bool) and allowed[key] is not bool):
            problems.append(f"node '{node_id}' setting '{key}' must be a {allowed[key].__name__}")
        elif key == "max_visits" and value < 1:
            problems.append(f"node '{node_id}' max_visits must be at least 1")
    return problems


def _edge_problems(nodes: dict, edges: list[Edge]) -> list[str]:
    problems = []
    for edge in edges:
        name = f"edge {edge.source} → {edge.target}"
        for end in (edge.source, edge.target):
            if end not in nodes:
                problems.append(f"{name} refers to unknown node '{end}'")
        if edge.when:
            try:
                jmespath.compile(edge.when)
            except JMESPathError as error:
                problems.append(f"{name} has an invalid condition {edge.when!r}: {error}")
        if edge.source in nodes and nodes[edge.source]["type"] in SINKS:
            problems.append(f"node '{edge.source}' is a {nodes[edge.source]['type']} sink and cannot have edges")
    for node_id, node in nodes.items():
        outgoing = [edge for edge in edges if edge.source == node_id]
        if node["type"] not in SINKS and (not outgoing or outgoing[-1].when):
            problems.append(
                f"node '{node_id}' needs a last edge without a condition, so that a run always goes on from it"
            )
    return problems


def _flow_problems(start: str, nodes: dict, edges: list[Edge], kind: str) -> list[str]:
    problems = []
    following = {node_id: [e.target for e in edges if e.source == node_id] for node_id in nodes}
    reachable = _reachable(start, following)
    unreachable = [node_id for node_id in nodes if node_id not in reachable]
    if unreachable:
        problems.append(f"unreachable from '{start}': {', '.join(repr(n) for n in unreachable)}")
    if kind == RunKind.TURN and not any(node["type"] == "handover" for node in nodes.values()):
        problems.append("the graph needs a handover node: failures and limits end there")
    sinks = {node_id for node_id, node in nodes.items() if node["type"] in SINKS}
    for node_id in reachable:
        if not _reachable(node_id, following) & sinks:
            ends = "a finish or handover sink" if kind == RunKind.TURN else "a finish sink"
            problems.append(f"node '{node_id}' never reaches {ends}")
    for cycle in _cycles(following):
        if not any(nodes[node_id].get("max_visits") for node_id in cycle):
            loop = " → ".join([*cycle, cycle[0]])
            problems.append(f"cycle {loop} has no bound: set max_visits on one of its nodes")
    return problems


def _reachable(start: str, following: dict[str, list[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node_id = todo.pop()
        if node_id not in seen:
            seen.add(node_id)
            todo.extend(following.get(node_id, []))
    return seen


def _cycles(following: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected groups of nodes that loop (Tarjan), each in graph order."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node_id):
        index[node_id] = low[node_id] = len(index)
        stack.append(node_id)
        on_stack.add(node_id)
        for target in following[node_id]:
            if target not in index:
                visit(target)
                low[node_id] = min(low[node_id], low[target])
            elif target in on_stack:
                low[node_id] = min(low[node_id], index[target])
        if low[node_id] == index[node_id]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node_id:
                    break
            if len(group) > 1 or node_id in following[node_id]:
                found.append(sorted(group, key=list(following).index))

    for node_id in following:
        if node_id not in index:
            visit(node_id)
    return found
