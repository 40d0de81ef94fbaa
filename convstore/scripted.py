"""An offline Agents SDK Model that plays back a script, for tests and demo data.

Each call to the model takes the next Step: text and/or tool calls, with the
token usage that call reports. The real Runner drives it, runs the tools and
writes to the session, so everything but the network is real.
"""

import itertools
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from agents import Agent, RunContextWrapper, RunResult
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_reasoning_item import Summary
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

_ids = itertools.count(1)


@dataclass
class Step:
    """One model call's answer and the usage it reports."""

    text: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reasoning: str | None = None
    input_tokens: int = 100
    cached_tokens: int = 0
    output_tokens: int = 20
    reasoning_tokens: int = 0

    def usage(self) -> Usage:
        return Usage(
            requests=1,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            total_tokens=self.input_tokens + self.output_tokens,
            input_tokens_details=InputTokensDetails(
                cached_tokens=self.cached_tokens, cache_write_tokens=0
            ),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=self.reasoning_tokens),
        )

    def response_usage(self) -> ResponseUsage:
        """The usage as the Responses API reports it at the end of a stream."""
        usage = self.usage()
        return ResponseUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            input_tokens_details=usage.input_tokens_details,
            output_tokens_details=usage.output_tokens_details,
        )

    def output(self) -> list:
        items: list = []
        if self.reasoning:
            items.append(
                ResponseReasoningItem(
                    id=f"rs_{next(_ids)}",
                    type="reasoning",
                    summary=[Summary(text=self.reasoning, type="summary_text")],
                )
            )
        for name, arguments in self.tool_calls:
            number = next(_ids)
            items.append(
                ResponseFunctionToolCall(
                    id=f"fc_{number}",
                    call_id=f"call_{number}",
                    type="function_call",
                    name=name,
                    arguments=json.dumps(arguments),
                )
            )
        if self.text is not None:
            items.append(
                ResponseOutputMessage(
                    id=f"msg_{next(_ids)}",
                    type="message",
                    role="assistant",
                    status="completed",
                    content=[
                        ResponseOutputText(type="output_text", text=self.text, annotations=[])
                    ],
                )
            )
        return items


class ScriptedModel(Model):
    """Answers each call with the next Step; `model` is the name it reports."""

    def __init__(self, steps: Iterable[Step], model: str = "gpt-4.1-mini"):
        self.steps = list(steps)
        self.model = model
        self.calls = 0

    def add(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def _next_step(self) -> Step:
        if self.calls >= len(self.steps):
            raise RuntimeError(f"The script has no step for model call {self.calls + 1}")
        step = self.steps[self.calls]
        self.calls += 1
        return step

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        step = self._next_step()
        return ModelResponse(output=step.output(), usage=step.usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator:
        """The step as a Responses API stream: created, the text in two deltas, each
        item done, then completed with the items and the usage."""
        step = self._next_step()
        output = step.output()
        response = Response(
            id=f"resp_{next(_ids)}",
            created_at=0,
            model=self.model,
            object="response",
            output=[],
            parallel_tool_calls=False,
            tool_choice="auto",
            tools=[],
        )
        sequence = itertools.count()
        yield ResponseCreatedEvent(
            type="response.created", response=response, sequence_number=next(sequence)
        )
        for index, item in enumerate(output):
            if isinstance(item, ResponseOutputMessage):
                text = item.content[0].text
                for delta in (text[: len(text) // 2], text[len(text) // 2 :]):
                    yield ResponseTextDeltaEvent(
                        type="response.output_text.delta",
                        item_id=item.id,
                        output_index=index,
                        content_index=0,
                        delta=delta,
                        logprobs=[],
                        sequence_number=next(sequence),
                    )
            yield ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=item,
                output_index=index,
                sequence_number=next(sequence),
            )
        completed = response.model_copy(update={"output": output, "usage": step.response_usage()})
        yield ResponseCompletedEvent(
            type="response.completed", response=completed, sequence_number=next(sequence)
        )


def usage_result(usage: Usage, model: str = "gpt-4.1-mini") -> RunResult:
    """A real RunResult carrying only a run's usage and its agent's model: what
    store_run_usage reads, to record usage without running a model."""
    return RunResult(
        input="",
        new_items=[],
        raw_responses=[],
        final_output=None,
        input_guardrail_results=[],
        output_guardrail_results=[],
        tool_input_guardrail_results=[],
        tool_output_guardrail_results=[],
        context_wrapper=RunContextWrapper(context=None, usage=usage),
        _last_agent=Agent(name="assistant", model=model),
    )
