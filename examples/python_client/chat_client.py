"""AIRisk Chat API example: log in as a user with OAuth2, list agents, start a conversation, stream an answer to
the terminal and print its cost. Standard library only: copy this file and run it.

    python chat_client.py --base-url https://airisk.example.com --client-id ... --client-secret ... \
        --redirect-uri https://localhost/callback --userid 0b7e... "What is our leave policy?"

The client id and secret come from the company's API client (Admin > API access); --userid is the user the
token acts for (their public id, as in the admin's user list). The redirect URI must be one of the client's.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, TextIO


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the authorization code is in the redirect's Location: read it, do not follow it


def get_user_token(base_url: str, client_id: str, client_secret: str, redirect_uri: str, userid: str) -> str:
    """The OAuth2 authorization code flow with a userid, as the deployed mobile client runs it."""
    query = urllib.parse.urlencode(
        {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "userid": userid}
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(f"{base_url}/api/oauth2?{query}", timeout=30)
        raise SystemExit("The authorization endpoint did not redirect; check the client id and redirect URI.")
    except urllib.error.HTTPError as redirect:
        if redirect.code != 302:
            raise SystemExit(f"Authorization refused ({redirect.code}): {redirect.read().decode()}") from None
        location = redirect.headers["Location"]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    form = urllib.parse.urlencode({"client_id": client_id, "client_secret": client_secret, "code": code}).encode()
    with urllib.request.urlopen(f"{base_url}/api/oauth2/Token", data=form, timeout=30) as response:  # noqa: S310
        return json.load(response)["access_token"]


def call(base_url: str, token: str, method: str, path: str, body: dict | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (base_url is checked to be http(s) in main)
        f"{base_url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        data = response.read()
    return json.loads(data) if data else None


def stream_answer(base_url: str, token: str, conversation_id: str, text: str) -> Iterator[tuple[str, Any]]:
    """POST /api/Chat/AskAgent with Accept: text/event-stream: yields (event name, data) as they arrive."""
    request = urllib.request.Request(  # noqa: S310
        f"{base_url}/api/Chat/AskAgent",
        method="POST",
        data=json.dumps({"conversationID": conversation_id, "text": text}).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        },
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        name, data = None, []
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line:  # a blank line ends an event
                if name is not None:
                    joined = "\n".join(data)
                    yield name, joined if name == "done" else json.loads(joined)
                name, data = None, []
            elif line.startswith(":"):
                continue  # ": ping" keeps proxies from closing an idle stream
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())


def chat(base_url: str, token: str, prompt: str, out: TextIO = sys.stdout) -> dict:
    """List agents, start a conversation with the first (the default agent comes first), stream the answer."""
    agents = call(base_url, token, "GET", "/api/Chat/ListAgents")
    if not agents:
        raise SystemExit("No agent is available to this user.")
    agent = agents[0]
    print(f"Agent: {agent['name']}", file=out)
    conversation = call(
        base_url,
        token,
        "POST",
        "/api/Chat/CreateConversation",
        {"title": prompt[:60], "agentId": agent["id"], "metadata": []},
    )
    result: dict = {"conversation": conversation["id"], "text": ""}
    for name, data in stream_answer(base_url, token, conversation["id"], prompt):
        if name == "thread.message.delta":
            chunk = data["delta"]["content"][0]["text"]["value"]
            result["text"] += chunk
            print(chunk, end="", flush=True, file=out)
        elif name == "thread.run.failed":
            raise SystemExit(f"\nThe agent could not answer: {data['last_error']['message']}")
        elif name == "thread.run.completed":
            result["usage"] = data["usage"]
    print(file=out)
    cost = call(base_url, token, "GET", f"/api/Chat/GetConversation/{conversation['id']}")["currentCost"]
    result["cost"] = cost
    print(
        f"Tokens: {cost['promptTokens']} in, {cost['completionTokens']} out; cost: ${cost['totalCost']:.6f}",
        file=out,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Ask an AIRisk agent a question and stream the answer.")
    parser.add_argument("prompt")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--userid", required=True)
    args = parser.parse_args()
    base_url = args.base_url.rstrip("/")
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise SystemExit("--base-url must be an http:// or https:// URL.")
    token = get_user_token(base_url, args.client_id, args.client_secret, args.redirect_uri, args.userid)
    chat(base_url, token, args.prompt)


if __name__ == "__main__":
    main()
