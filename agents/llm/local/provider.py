"""The embedded `local/…` model, registered in LiteLLM as a custom provider.

A small, honest NLP model: intents by nearest labelled examples, answers and summaries
extracted from the text it is given, tool calls chosen by description with the arguments the
request states. It needs no key and no network, so the default profiles work offline.
"""

import json
import uuid

import litellm
from litellm import CustomLLM
from litellm.types.utils import ChatCompletionMessageToolCall, Function, Usage

from agents.llm import prompts
from agents.llm.local import answers, intents, tool_calls


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
    as_json = (optional_params.get("response_format") or {}).get("type", "").startswith("json")
    if messages and messages[-1].get("role") == "tool":
        return _reply(_tool_result_answer(messages[-1].get("content") or ""), as_json), None
    smalltalk = answers.smalltalk_reply(text)
    if smalltalk:
        return _reply(smalltalk, as_json), None
    tools = optional_params.get("tools") or []
    sources = prompts.sources_of(messages)
    if tools:
        chosen, fit = tool_calls.best_tool(text, tools)
        # A question the sources answer better than any tool fits it is answered from them.
        if fit >= tool_calls.FITS_FROM and tool_calls.evidence_for(text, chosen, fit) > answers.best_support(
            text, sources
        ):
            # Arguments may come from earlier messages ("Refund order 100234" … "20 euros").
            arguments, missing = tool_calls.fill_arguments(text, chosen, earlier=prompts.user_texts(messages)[:-1])
            if missing:
                return _reply(tool_calls.clarifying_question(chosen, missing), as_json), None
            return None, [_tool_call(chosen["function"]["name"], arguments)]
    content, cited = answers.grounded_answer(text, sources)
    if as_json and not cited:
        # Nothing in the sources answers it: a person should, and the model says so in its own field.
        return json.dumps(
            {"action": "handover", "reason": "The help articles do not answer this.", "reply": content}
        ), None
    return _reply(content, as_json), None


def _reply(content: str, as_json: bool) -> str:
    return json.dumps({"action": "reply", "reply": content}) if as_json else content


def _classification(messages: list[dict], text: str) -> str:
    intent, confidence = intents.classify(text, prompts.examples_of(messages))
    return json.dumps({"intent": intent, "confidence": confidence})


def _tool_call(name: str, arguments: dict) -> ChatCompletionMessageToolCall:
    return ChatCompletionMessageToolCall(
        id=f"call_{uuid.uuid4().hex[:12]}",
        type="function",
        function=Function(name=name, arguments=json.dumps(arguments)),
    )


def _tool_result_answer(result: str) -> str:
    """Say what the tool returned, in plain words."""
    try:
        data = json.loads(result)
    except ValueError:
        return result
    if isinstance(data, dict) and data.get("error"):
        return f"I couldn't complete that: {data['error']}"
    if isinstance(data, dict):
        facts = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in data.items() if value not in (None, ""))
        return f"Here is what I found — {facts}."
    return f"Here is what I found: {json.dumps(data)}"
