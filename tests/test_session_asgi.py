"""DjangoSession called from inside a running Django ASGI request: no SynchronousOnlyOperation."""

import pytest
from agents import Agent, Runner
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, override_settings
from django.urls import path
from django.views.decorators.http import require_POST

from convstore.models import AgentMessage, TurnUsage
from convstore.scripted import ScriptedModel, Step
from convstore.session import DjangoSession
from tests.conftest import run_async
from tests.session_samples import user

pytestmark = pytest.mark.django_db(transaction=True)


@require_POST
async def remember(request: HttpRequest) -> JsonResponse:
    session = DjangoSession("asgi-conversation")
    await session.add_items([user(request.POST["text"])])
    await session.create_branch_from_turn(1, "alternative")
    await session.switch_to_branch("main")
    return JsonResponse(
        {
            "items": await session.get_items(),
            "branches": [branch["branch_id"] for branch in await session.list_branches()],
        }
    )


@require_POST
async def ask_agent(request: HttpRequest) -> JsonResponse:
    session = DjangoSession("asgi-agent")
    agent = Agent(name="assistant", model=ScriptedModel([Step(text="Hello from the agent")]))
    result = await Runner.run(agent, request.POST["text"], session=session)
    await session.store_run_usage(result)
    return JsonResponse({"answer": result.final_output, "usage": await session.get_turn_usage(1)})


urlpatterns = [path("remember/", remember), path("ask/", ask_agent)]


@override_settings(ROOT_URLCONF=__name__)
def test_a_view_reads_and_writes_through_django_session() -> None:
    response = run_async(AsyncClient().post("/remember/", {"text": "Hi from the browser"}))
    assert response.status_code == 200
    assert response.json() == {
        "items": [user("Hi from the browser")],
        "branches": ["main", "alternative"],
    }
    assert AgentMessage.objects.filter(session_id="asgi-conversation").count() == 1


@override_settings(ROOT_URLCONF=__name__)
def test_a_view_runs_an_agent_with_django_session() -> None:
    response = run_async(AsyncClient().post("/ask/", {"text": "Hello?"}))
    assert response.status_code == 200
    assert response.json()["answer"] == "Hello from the agent"
    assert response.json()["usage"]["total_tokens"] == 120
    row = TurnUsage.objects.get(session_id="asgi-agent")
    assert (row.user_turn_number, row.input_tokens, row.output_tokens) == (1, 100, 20)
