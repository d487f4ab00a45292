"""A local OpenAI-compatible server for gateway tests; its behaviour depends on the model name.

`ok` answers, `tool` asks for a tool call, `limited` answers 429 with Retry-After once and then
answers, `broken` always fails with 500, `slow` answers after 3 s, `shopper` looks up order
100234 and then replies in the pipeline's JSON format with what the tool returned, `dumper` does
the same but replies with the tool's whole answer, as a careless model would, `echo` replies
(in that format) with what the customer said, `support` plays a plain support model (intents by
keyword, the order tools for a message with an order number, otherwise the source sentence sharing
most words with the question), `refunder` asks for a 500 EUR refund of order 100234 (as a model
talked into it would), `leaky` refuses with a long error that quotes the key it was sent,
`analyst` analyses a document's chunk in the workflow's JSON (its first line as the summary and one
finding) and refuses with 400 a chunk that says UNREADABLE. `bodies` keeps every request body.

`hold(model, when)` makes matching requests wait until `release(model)`; `arrived[model]` is set
when one starts waiting, so a test can act while a caller is inside a model call. `gate(model)`
stops every request to the model until the test lets that one through (`next_call`, `let_through`),
for tests that act inside several calls in a row.
"""

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OpenAIServer:
    def __init__(self):
        self.requests = Counter()
        self.bodies: list[dict] = []
        self.authorization: list[str] = []
        self.holds: dict[str, tuple[threading.Event, Callable[[dict], bool]]] = {}
        self.arrived: dict[str, threading.Event] = {}
        self.gates: dict[str, tuple[threading.Semaphore, threading.Semaphore]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def hold(self, model: str, when: Callable[[dict], bool] = lambda body: True) -> None:
        self.holds[model] = (threading.Event(), when)
        self.arrived[model] = threading.Event()

    def release(self, model: str) -> None:
        self.holds[model][0].set()

    def gate(self, model: str) -> None:
        self.gates[model] = (threading.Semaphore(0), threading.Semaphore(0))

    def next_call(self, model: str, timeout: float = 30) -> None:
        """Wait until a request to the gated model has arrived (and is waiting)."""
        assert self.gates[model][0].acquire(timeout=timeout), f"no call of {model} arrived"

    def let_through(self, model: str) -> None:
        self.gates[model][1].release()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real providers do: the gateway's measured cost must not be reconnects.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model = body["model"]
                owner.requests[model] += 1
                owner.bodies.append(body)
                owner.authorization.append(self.headers.get("Authorization", ""))
                owner.wait_if_held(model, body)
                status, headers, payload = owner.respond(model, owner.requests[model], body)
                if model == "leaky":
                    said = f"Incorrect API key provided: {self.headers.get('Authorization', '')}. " + "Details. " * 400
                    status, payload = 401, {"error": {"message": said, "type": "invalid_request_error"}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for name, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the caller is gone (a killed worker)
                    pass

        return Handler

    def wait_if_held(self, model: str, body: dict) -> None:
        if model in self.gates:
            arrivals, permits = self.gates[model]
            arrivals.release()
            permits.acquire(timeout=60)
        release, when = self.holds.get(model, (None, None))
        if release is not None and not release.is_set() and when(body):
            self.arrived[model].set()
            release.wait(60)

    def respond(self, model: str, attempt: int, body: dict | None = None):
        if model == "broken":
            return 500, {}, {"error": {"message": "upstream exploded", "type": "server_error"}}
        if model == "limited" and attempt == 1:
            return 429, {"Retry-After": "1"}, {"error": {"message": "slow down", "type": "rate_limit_error"}}
        if model == "slow":
            time.sleep(3)
        if model == "analyst":
            text = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
            if "UNREADABLE" in text:
                return 400, {}, {"error": {"message": "cannot read this part", "type": "invalid_request_error"}}
            first = text.strip().splitlines()[0][:200]
            analysis = {"summary": first, "findings": [{"text": first, "severity": "medium"}], "risk_flags": [],
                        "entities": {"people": [], "organisations": [], "dates": [], "amounts": []}}  # fmt: skip
            message = {"role": "assistant", "content": json.dumps(analysis)}
        if model != "analyst":
            message = {"role": "assistant", "content": f"Hello from {model}"}
        if model in ("shopper", "dumper"):
            message = _shopper(body["messages"], dump=model == "dumper")
        if model == "support":
            message = _support(body["messages"], bool(body.get("tools")))
        if model == "echo":
            said = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
            message = {"role": "assistant", "content": json.dumps({"action": "reply", "reply": f"You said: {said}"})}
        if model == "refunder":
            call = {
                "name": "request_refund",
                "arguments": '{"order_number": "100234", "amount": 500, "reason": "As told"}',
            }
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": call}],
            }
        if model == "tool":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_order_status", "arguments": '{"order_number": "100234"}'},
                    }
                ],
            }
        return (
            200,
            {},
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
            },
        )


def _shopper(messages: list[dict], dump: bool = False) -> dict:
    if messages[-1]["role"] == "tool":
        found = json.loads(messages[-1]["content"])
        said = messages[-1]["content"] if dump else f"Order {found.get('number')} is {found.get('status')}."
        reply = {"action": "reply", "reply": said}
        return {"role": "assistant", "content": json.dumps(reply)}
    call = {"name": "get_order_status", "arguments": '{"order_number": "100234"}'}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": call}],
    }


def _support(messages: list[dict], with_tools: bool) -> dict:
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    question = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    if system.startswith("Task: classify."):
        intent = "refund" if "refund" in question.lower() else "order_status" if "order" in question else "faq"
        return {"role": "assistant", "content": json.dumps({"intent": intent, "confidence": 0.9})}
    if messages[-1]["role"] == "tool":
        found = json.loads(messages[-1]["content"])
        reply = f"Sorry: {found['error']}" if "error" in found else f"Order {found['number']} is {found['status']}."
        return {"role": "assistant", "content": json.dumps({"action": "reply", "reply": reply})}
    number, amount = re.search(r"\b(\d{6})\b", question), re.search(r"\b(\d+\.\d{2})\b", question)
    if with_tools and number:
        name, arguments = "get_order_status", {"order_number": number.group(1)}
        if "refund" in question.lower() and amount:
            name, arguments = "request_refund", {**arguments, "amount": float(amount.group(1)), "reason": question}
        call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": json.dumps({"action": "reply", "reply": _best_sentence(system, question)})}


def _best_sentence(system: str, question: str) -> str:
    """The sentence of the numbered sources sharing most words with the question, cited."""
    asked = set(re.findall(r"\w+", question.lower()))
    sources = re.findall(r"^\[(\d+)\] .+?\n(.*?)(?=^\[\d+\] |\Z)", system, re.M | re.S)
    sentences = [(n, s) for n, text in sources for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]
    if not sentences:
        return "I don't know."
    number, sentence = max(sentences, key=lambda item: len(asked & set(re.findall(r"\w+", item[1].lower()))))
    return f"{sentence.strip(' -*')} [{number}]"
