"""Sample Agents SDK items and run results for the session tests."""

import json
from typing import Any

from agents import RunResult, Usage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from convstore.scripted import usage_result


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call(name: str, call_id: str, **arguments: Any) -> dict:
    return {
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
    }


def function_output(call_id: str, output: str) -> dict:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def web_search_call(query: str) -> dict:
    return {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": query},
    }


def mcp_call(server_label: str, name: str) -> dict:
    return {
        "type": "mcp_call",
        "id": "mcp_1",
        "server_label": server_label,
        "name": name,
        "arguments": "{}",
        "output": "ok",
    }


def tool_search_call() -> dict:
    return {"type": "tool_search_call", "id": "ts_1", "arguments": {"query": "crm"}}


def tool_search_output() -> dict:
    return {"type": "tool_search_output", "call_id": "ts_1", "tools": []}


def run_result(
    requests: int, input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0
) -> RunResult:
    """A real RunResult carrying only usage, as store_run_usage reads it."""
    usage = Usage(
        requests=requests,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=cached, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning),
    )
    return usage_result(usage)


THREE_TURNS = [
    user("Hello"),
    assistant("Hi, how can I help?"),
    user("What is the weather in Paris?"),
    function_call("get_weather", "call_1", city="Paris"),
    function_output("call_1", "sunny, 21C"),
    assistant("It is sunny in Paris."),
    user("And in Rome?"),
    function_call("get_weather", "call_2", city="Rome"),
    function_output("call_2", "cloudy, 18C"),
    assistant("Cloudy in Rome."),
]
