"""The embedded `local/…` model, registered in LiteLLM as a custom provider.

A small, honest NLP model: intents by nearest labelled examples (with the help articles'
evidence and the message's tone), answers and summaries extracted from the text it is given,
tool calls chosen by what the customer asks the shop to do, with the arguments they wrote. It
needs no key and no network, so the default profiles work offline.
"""

import json
import uuid

import litellm
from litellm import CustomLLM
from litellm.types.utils import ChatCompletionMessageToolCall, Function, Usage

from agents.languages import language_of
from agents.llm import prompts, workflow_prompts
from agents.llm.local import answers, documents, intents, sensitive, tool_calls, words
from agents.llm.local.tool_results import after_tool

# A question the help articles answer at least this well is answered from them, even when it
# also sounds like a request the AI would need an order number for ("My order already shipped,
# can I still cancel it?").
ARTICLE_ANSWERS_FROM = 0.62
# One they answer less well, about more than where the order is ("Will my delivery be slower
# around Christmas?"), gets their answer and the offer to look the order up.
ARTICLE_HELPS_FROM = 0.45


class LocalModel(CustomLLM):
    def completion(self, model, messages, api_base, custom_prompt_dict, model_response, *args, **kwargs):
        optional_params = kwargs.get("optional_params") or (args[5] if len(args) > 5 else {})
        content, calls = respond(messages, optional_params or {})
        message = model_response.choices[0].message
        message.content = content
        if calls:
            message.tool_calls = calls
            model_response.choices[0].finish_reason = "tool_calls"
        model_response.model = f"local/{model}"
        prompt_tokens = litellm.token_counter(model="gpt-3.5-turbo", messages=messages)
        completion_tokens = litellm.token_counter(model="gpt-3.5-turbo", text=content or json.dumps(_plain(calls)))
        model_response.usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return model_response

    async def acompletion(self, *args, **kwargs):
        return self.completion(*args, **kwargs)


def _plain(calls):
    return [{"name": call.function.name, "arguments": call.function.arguments} for call in calls or []]


def respond(messages: list[dict], optional_params: dict) -> tuple[str | None, list | None]:
    task = prompts.task_of(messages)
    text = prompts.last_user_text(messages)
    if task == prompts.CLASSIFY:
        return _classification(messages, text), None
    if task == prompts.SUMMARIZE:
        return answers.extractive_summary(text), None
    if task in workflow_prompts.TASKS:
        return documents.respond(task, messages), None
    as_json = (optional_params.get("response_format") or {}).get("type", "").startswith("json")
    tools = optional_params.get("tools") or []
    if messages and messages[-1].get("role") == "tool":
        content, call = after_tool(messages, tools)
        return (None if call and not content else _reply(content, as_json)), _calls(call, tools)
    smalltalk = answers.smalltalk_reply(text)
    if smalltalk:
        return _reply(smalltalk, as_json), None
    sources, earlier = prompts.sources_of(messages), prompts.user_texts(messages)[:-1]
    if tools:
        acted = _act(text, earlier, tool_calls.follows_a_question(messages), tools, sources)
        if acted:
            content, call = acted
            return (_reply(content, as_json) if content else None), _calls(call, tools)
    content, cited = answers.grounded_answer(text, sources, earlier)
    if as_json and not cited:
        # Nothing in the sources answers it: a person should, and the model says so in its own field.
        return json.dumps(
            {"action": "handover", "reason": "The help articles do not answer this.", "reply": content}
        ), None
    return _reply(content, as_json), None


def _act(text: str, earlier: list[str], follows_a_question: bool, tools: list[dict], sources) -> tuple | None:
    """(what to say, (tool, arguments) to call) when the customer asks the shop to do something;
    None when the help articles should answer."""
    request = tool_calls.request_of(text, earlier, follows_a_question)
    if request.tool is None or request.tool not in {tool["function"]["name"] for tool in tools}:
        return _other_tool(text, tools, earlier)
    if request.order_number is None:
        return _without_a_number(text, earlier, sources)
    if request.tool == tool_calls.REFUND and request.amount is not None:
        arguments = {"order_number": request.order_number, "amount": request.amount, "reason": request.reason}
        return None, (tool_calls.REFUND, arguments)
    # Everything else starts from the order as it is now: a refund without an amount proposes
    # what is left to refund, an address changes only while the order waits in the warehouse.
    return None, (tool_calls.STATUS, {"order_number": request.order_number})


def _without_a_number(text: str, earlier: list[str], sources) -> tuple | None:
    """ "Where is my order?" wants its number; "My order already shipped, can I still cancel it?"
    asks something else, which the articles may answer (None: they do)."""
    ask = tool_calls.ask(["order_number"], language_of(text))
    rest = tool_calls.beyond_the_order(text)
    if not words.content_words(rest):
        return ask, None
    if answers.best_support(rest, sources, earlier) >= ARTICLE_ANSWERS_FROM:
        return None
    if answers.best_support(text, sources, earlier) >= ARTICLE_HELPS_FROM:
        content, cited = answers.grounded_answer(text, sources, earlier)
        return (f"{content}\n{ask}" if cited else ask), None
    return ask, None


def _other_tool(text: str, tools: list[dict], earlier: list[str]) -> tuple | None:
    """A customer's own orders by the email address they give (the demo's other tool)."""
    email = tool_calls.email_in(text)
    orders = tool_calls.spec_named(tools, tool_calls.ORDERS_BY_EMAIL)
    if email and orders and tool_calls.MY_ORDER.search(text.lower()):
        return None, (tool_calls.ORDERS_BY_EMAIL, {"email": email})
    return None


def _reply(content: str, as_json: bool) -> str:
    return json.dumps({"action": "reply", "reply": content}) if as_json else content


# What the customer asks the shop to do, as an intent.
INTENT_OF_REQUEST = {
    tool_calls.STATUS: "order_status",
    tool_calls.REFUND: "refund",
    tool_calls.CHANGE_ADDRESS: "account",
}
# A request naming its order (or a greeting) is as clear as a message gets.
CLEAR = 0.9


def _classification(messages: list[dict], text: str) -> str:
    """Small talk and requests that name an order are recognised by their form; everything else
    by its nearest examples, the help articles' support and its tone."""
    request, matter = tool_calls.request_of(text), sensitive.matter_of(text)
    if matter and matter.kind in sensitive.ASIDE and len(prompts.questions_in(text)) > 1:
        # "Can I pay with PayPal? Who won the world cup?": the shop's question is answered and the
        # other one named as unanswered, rather than the whole turn handed over.
        matter = None
    if matter:
        # A legal threat, a hacked account, someone's safety…: a person's to handle, as a
        # complaint or a request for a person, or (an attempt on the AI's rules) with no trust.
        intent, confidence = matter.intent, 0.0 if matter.intent == sensitive.UNKNOWN else 1.0
    elif answers.smalltalk_reply(text):
        intent, confidence = "smalltalk", CLEAR
    elif request.tool in INTENT_OF_REQUEST and tool_calls.bypasses_safeguards(text):
        # Asked to act without a reviewer, on someone's say-so: not the AI's to decide.
        intent, confidence = INTENT_OF_REQUEST[request.tool], 0.0
    elif request.tool in INTENT_OF_REQUEST and request.order_number and not intents.tone(text):
        intent, confidence = INTENT_OF_REQUEST[request.tool], CLEAR
    else:
        support = answers.best_support(text, prompts.sources_of(messages))
        intent, confidence = intents.classify(text, prompts.examples_of(messages), support)
    return json.dumps({"intent": intent, "confidence": confidence})


def _calls(call: tuple | None, tools: list[dict]) -> list | None:
    """The OpenAI-style tool call, with only the arguments the tool declares."""
    if not call:
        return None
    name, arguments = call
    spec = tool_calls.spec_named(tools, name) or {}
    declared = (spec.get("function", {}).get("parameters") or {}).get("properties")
    if declared is not None:
        arguments = {key: value for key, value in arguments.items() if key in declared}
    return [_tool_call(name, arguments)]


def _tool_call(name: str, arguments: dict) -> ChatCompletionMessageToolCall:
    return ChatCompletionMessageToolCall(
        id=f"call_{uuid.uuid4().hex[:12]}",
        type="function",
        function=Function(name=name, arguments=json.dumps(arguments)),
    )
