"""Pipeline graphs: what an admin's edit must pass, and how a run is routed."""

import copy

import pytest

from agents.pipelines.defaults import CUSTOMER_SUPPORT_GRAPH
from agents.pipelines.graph import Graph, GraphError, graph_problems


def edited(change) -> dict:
    graph = copy.deepcopy(CUSTOMER_SUPPORT_GRAPH)
    change(graph)
    return graph


def test_the_shipped_graph_is_valid():
    assert graph_problems(CUSTOMER_SUPPORT_GRAPH) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda g: g["nodes"].append({"id": "poem", "type": "poet"}), "node 'poem' has unknown type 'poet'"),
        (lambda g: g["nodes"].append({"id": "extra", "type": "summarize"}), "unreachable from 'guard': 'extra'"),
        (lambda g: g["edges"].append({"from": "answer", "to": "nowhere"}), "refers to unknown node 'nowhere'"),
        (lambda g: g["edges"].insert(0, {"from": "retrieve", "to": "answer", "when": "intent =="}),
         "edge retrieve → answer has an invalid condition"),
        (lambda g: g["nodes"][0].update(limit=3), "node 'guard' (guard) has unknown setting 'limit'"),
        (lambda g: g["nodes"][1].update(limit="four"), "node 'retrieve' setting 'limit' must be a int"),
        (lambda g: g.update(start="begin"), "start node 'begin' is not one of the nodes"),
        (lambda g: g["nodes"].append({"id": "guard", "type": "guard"}), "node 'guard' is defined twice"),
        (lambda g: g["edges"].append({"from": "reply", "to": "guard"}), "node 'reply' is a finish sink"),
    ],
)  # fmt: skip
def test_a_broken_graph_is_refused_naming_the_node(change, problem):
    problems = graph_problems(edited(change))

    assert any(problem in found for found in problems), problems


def test_a_node_without_a_fallback_edge_is_refused():
    def drop_fallback(graph):
        graph["edges"] = [e for e in graph["edges"] if not (e["from"] == "answer" and "when" not in e)]

    assert "node 'answer' needs a last edge without a condition" in graph_problems(edited(drop_fallback))[0]


def test_a_graph_without_sinks_is_refused():
    graph = {"start": "a", "nodes": [{"id": "a", "type": "classify"}], "edges": [{"from": "a", "to": "a"}]}

    problems = graph_problems(graph)

    assert "the graph needs a handover node: failures and limits end there" in problems
    assert "node 'a' never reaches a finish or handover sink" in problems


def test_a_cycle_needs_a_bound_on_one_of_its_nodes():
    def loop_back(graph):
        graph["edges"].insert(6, {"from": "answer", "to": "retrieve", "when": "action == 'search_again'"})

    assert "cycle retrieve → classify → answer → retrieve has no bound" in " ".join(graph_problems(edited(loop_back)))
    bounded = edited(loop_back)
    bounded["nodes"][1]["max_visits"] = 2
    assert graph_problems(bounded) == []


def test_edges_are_taken_in_order_by_their_conditions():
    graph = Graph(CUSTOMER_SUPPORT_GRAPH)

    assert graph.route("classify", {"intent": "human_request", "confidence": 1, "threshold": 0.5}).target == "to_human"
    assert graph.route("classify", {"intent": "faq", "confidence": 0.2, "threshold": 0.5}).reason == "low_confidence"
    assert graph.route("classify", {"intent": "faq", "confidence": 0.9, "threshold": 0.5}).target == "answer"
    assert graph.route("answer", {"action": "handover"}).target == "to_human"


def test_a_suppressed_reason_lets_the_run_go_on():
    graph = Graph(CUSTOMER_SUPPORT_GRAPH)
    unsure = {"intent": "faq", "confidence": 0.2, "threshold": 0.5}

    assert graph.route("classify", unsure, suppressed=("low_confidence",)).target == "answer"


def test_an_invalid_graph_cannot_be_built():
    with pytest.raises(GraphError) as refused:
        Graph({"start": "x", "nodes": [], "edges": []})
    assert refused.value.problems == ["nodes must be a non-empty list"]
