"""The console's suggested replies for an open conversation (docs/suggestions.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console.requests import ask, console_of, reader


async def get_suggestions(request: Request) -> Response:
    """
    summary: Suggested replies for a conversation
    description: >
      Up to three texts to start a reply from, each with its source: `bot`, the bot's answer
      to the latest intent it recognised that has one; `similar`, the agent reply that
      followed the most similar customer message in a resolved conversation of the brand
      that you may see (nearest first, by the cosine similarity of message embeddings);
      `article`, the knowledge base's best article for the customer's latest messages (its
      title and link; `article_id`), which keeps a place when there is one; `llm`, with
      SWITCHBOARD_LLM_URL, a language model's draft in a place the others left
      empty, once the model has answered for the conversation as it stands (see
      GET /console/api/conversations/{id}/summary; nobody waits on the model here). In
      the customer's language; when the customer is upset, each opens with an apology
      (`adapted` holds "apology", `opening` the sentence added). Nothing is sent.
    responses:
      200:
        description: the suggestions, the language they are in and the customer's tone
        content:
          application/json:
            schema:
              type: object
              required: [suggestions, language, tone]
              properties:
                language: {type: string}
                tone: {type: string, enum: [negative, neutral]}
                suggestions:
                  type: array
                  maxItems: 3
                  items:
                    type: object
                    required: [text, source, intent, response, conversation_id, agent_name,
                               similarity, adapted, opening]
                    properties:
                      text: {type: string}
                      source: {type: string, enum: [bot, similar, article, llm]}
                      intent: {type: [string, "null"]}
                      response: {type: [string, "null"]}
                      conversation_id: {type: [string, "null"], format: uuid}
                      agent_name: {type: [string, "null"]}
                      similarity: {type: [number, "null"]}
                      article_id: {type: [string, "null"], format: uuid}
                      adapted: {type: array, items: {type: string, enum: [apology]}}
                      opening: {type: [string, "null"]}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
    """
    agent = await reader(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.suggestions(agent, request.path_params["id"])))
