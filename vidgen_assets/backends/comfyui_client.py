"""One ComfyUI server over its HTTP API, the whole contract vidgen relies on (read from ComfyUI's
`server.py` and `execution.py`; the websocket is for progress only and is not used):

- `POST /upload/image` (multipart `image`, `overwrite`, `type`, `subfolder`) answers `{name, subfolder,
  type}`; the name can differ from the one sent (a same-named file already there), so the answer's is used;
- `POST /prompt` (`{prompt, client_id}`) answers `{prompt_id, number, node_errors}`, or 400 with `error`
  (`{type, message, details}`) and `node_errors` (per node: `errors` with `extra_info.input_name`, its
  `class_type`); an unknown node type is named only in `error.details` (`Node ID '#52'`);
- `GET /history/{prompt_id}` is `{}` while the prompt is queued, running, unknown, or lost with a
  restarted server; once done, `{id: {outputs, status: {status_str, completed, messages}}}`, the messages
  `[event, data]` pairs (`execution_start`, `execution_success`, `execution_error` with `node_id`,
  `node_type`, `exception_message`, ...), with millisecond `timestamp`s in recent versions;
- `GET /queue` lists `queue_running` and `queue_pending` as `[number, prompt_id, ...]`;
- `GET /view?filename&subfolder&type` serves an output file;
- `POST /interrupt` (`{prompt_id}`: only that prompt, if it is the one running) and `POST /queue`
  (`{delete: [ids]}`) cancel.

Transient failures (connection errors, timeouts, 5xx) are retried by the shared `Retrier` within a short
bound; when they run out the server is taken to have stopped answering (`ServerUnreachable`), and the
backend gives its work to another server.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from vidgen_assets.backends import GenerationFailed
from vidgen_assets.backends.replicate_download import Downloader, Limits
from vidgen_assets.backends.replicate_retry import Clock, Retrier, RetryPolicy, Transient

log = logging.getLogger("vidgen.comfyui")

SERVER_RETRY = RetryPolicy(attempts=4, base_s=0.25, cap_s=2.0, total_s=15.0)
"""A server that fails four calls in a row over about 15 s has stopped answering (its work moves on)."""
_NODE_IN_DETAILS = re.compile(r"#([^'\"\s]+)")


class ComfyUIFailed(GenerationFailed):
    """A ComfyUI call failed for good: the message names the server, the workflow and the cause."""


class ServerUnreachable(ComfyUIFailed):
    """A server did not answer within the retry bounds (`retryable`), or answered what no ComfyUI does."""


class PromptRefused(Exception):
    """`POST /prompt` answered 400: the message names the node and input ComfyUI objected to."""


def display_url(url: str) -> str:
    """A server URL as shown in messages, records and logs: without any user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")


def refusal_text(body: Any) -> str:
    """A 400 reply of `POST /prompt` as one message naming each node and input (and an unknown node
    type, which ComfyUI names only in `error.details`)."""
    if not isinstance(body, dict):
        return f"the server refused the prompt: {str(body)[:300]}"
    error = body.get("error")
    lines = []
    node_errors = body.get("node_errors")
    if isinstance(node_errors, dict):
        for node_id, entry in node_errors.items():
            if not isinstance(entry, dict):
                continue
            kind = entry.get("class_type", "?")
            for problem in entry.get("errors", []) or []:
                if not isinstance(problem, dict):
                    continue
                name = (problem.get("extra_info") or {}).get("input_name")
                where = f"node {node_id} ({kind})" + (f" input {name!r}" if name else "")
                detail = problem.get("details") or ""
                lines.append(f"{where}: {problem.get('message', 'invalid')}{': ' + detail if detail else ''}")
    if not lines and isinstance(error, dict):
        details = str(error.get("details") or "")
        found = _NODE_IN_DETAILS.search(details)
        where = f"node {found.group(1)}: " if found else ""
        message = str(error.get("message") or error.get("type") or "invalid prompt")
        hint = ""
        if "does not exist" in message:
            hint = " (install the custom node that provides it on the server, or fix the workflow)"
        lines.append(f"{where}{message}{hint}" + (f" ({details})" if details and not found else ""))
    elif not lines:
        lines.append(str(error or body)[:300])
    return "; ".join(lines)


@dataclass(frozen=True)
class Done:
    """A prompt that ended: its history entry."""

    prompt_id: str
    entry: dict[str, Any]

    @property
    def status(self) -> str:
        status = self.entry.get("status") or {}
        return str(status.get("status_str") or ("success" if status.get("completed", True) else "error"))

    @property
    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        raw = (self.entry.get("status") or {}).get("messages") or []
        out = []
        for item in raw:
            if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], dict):
                out.append((str(item[0]), item[1]))
        return out

    def message(self, event: str) -> dict[str, Any] | None:
        return next((data for name, data in self.messages if name == event), None)

    def execution_seconds(self) -> float | None:
        """From `execution_start` to its end (`execution_success`, `_error`, `_interrupted`), as the server
        stamped them; None when it did not."""
        start = (self.message("execution_start") or {}).get("timestamp")
        end = next(
            (d.get("timestamp") for n, d in self.messages
             if n in ("execution_success", "execution_error", "execution_interrupted")),
            None,
        )  # fmt: skip
        if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
            return (end - start) / 1000
        return None

    def files(self, node_id: str) -> list[dict[str, Any]]:
        """The files a node wrote, whatever list they are under (`images`, `gifs`, `audio`, ...)."""
        outputs = (self.entry.get("outputs") or {}).get(node_id) or {}
        found = []
        for value in outputs.values() if isinstance(outputs, dict) else ():
            for item in value if isinstance(value, list) else ():
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    found.append(item)
        return found

    def output_nodes(self) -> list[str]:
        return sorted((self.entry.get("outputs") or {}).keys())


class ComfyClient:
    """The HTTP calls to one server (thread-safe: `httpx.Client` is), retried within `SERVER_RETRY`."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        clock: Clock,
        rng: random.Random | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shown = display_url(base_url)
        self.client_id = client_id
        self.limits = limits or Limits(read_s=30.0)
        self.clock = clock
        timeout = httpx.Timeout(self.limits.read_s, connect=self.limits.connect_s)
        self.http = httpx.Client(timeout=timeout, follow_redirects=True)
        self._retrier = Retrier(
            SERVER_RETRY, clock, rng or random.Random(), lambda text: text, log.warning,
            label="comfyui server", failure=ServerUnreachable,
        )  # fmt: skip
        self._downloader = Downloader(self.http, self.limits, clock, "", self.base_url)

    def _url(self, route: str, query: dict[str, str] | None = None) -> str:
        return self.base_url + route + (f"?{urlencode(query)}" if query else "")

    def _call(self, what: str, op: Any) -> Any:
        return self._retrier.run(self.shown, what, op)

    def _json(self, method: str, route: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self._url(route), **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def ping(self) -> None:
        """One `GET /queue`, retried: `ServerUnreachable` when the server does not answer."""
        self._call("read the queue", lambda: self._json("GET", "/queue"))

    def upload_image(self, data: bytes, filename: str) -> str:
        """Upload an input image; the value a `LoadImage` takes for it (the name the server gave it)."""

        def upload() -> str:
            files = {"image": (filename, data, "image/png")}
            answer = self._json("POST", "/upload/image", files=files, data={"overwrite": "false", "type": "input"})
            if not isinstance(answer, dict) or not answer.get("name"):
                raise Transient(f"the upload's answer names no file: {str(answer)[:200]}")
            subfolder = str(answer.get("subfolder") or "")
            return f"{subfolder}/{answer['name']}" if subfolder else str(answer["name"])

        value: str = self._call(f"upload {filename}", upload)
        return value

    def queue_prompt(self, prompt: dict[str, Any]) -> str:
        """Queue a bound workflow; its prompt id. `PromptRefused` on a 400 (bad node, input or model)."""

        def post() -> str:
            response = self.http.post(self._url("/prompt"), json={"prompt": prompt, "client_id": self.client_id})
            if response.status_code == 400:
                try:
                    body = response.json()
                except ValueError:
                    body = response.text
                raise PromptRefused(refusal_text(body))
            response.raise_for_status()
            answer = response.json()
            if not isinstance(answer, dict) or not answer.get("prompt_id"):
                raise PromptRefused(f"the server's answer has no prompt_id: {str(answer)[:200]}")
            return str(answer["prompt_id"])

        prompt_id: str = self._call("queue the prompt", post)
        return prompt_id

    def history(self, prompt_id: str) -> Done | None:
        """The prompt's history entry once it ended, else None (queued, running, unknown or lost)."""
        answer = self._call("read the prompt's history", lambda: self._json("GET", f"/history/{prompt_id}"))
        entry = answer.get(prompt_id) if isinstance(answer, dict) else None
        return Done(prompt_id, entry) if isinstance(entry, dict) else None

    def queue(self) -> tuple[set[str], set[str]]:
        """(running, pending) prompt ids."""
        answer = self._call("read the queue", lambda: self._json("GET", "/queue")) or {}

        def ids(items: Any) -> set[str]:
            return {str(i[1]) for i in items or [] if isinstance(i, list | tuple) and len(i) > 1}

        return ids(answer.get("queue_running")), ids(answer.get("queue_pending"))

    def cancel(self, prompt_id: str) -> None:
        """Interrupt the prompt if it runs, delete it if it waits (best effort: the server may be gone)."""
        for route, body in (("/interrupt", {"prompt_id": prompt_id}), ("/queue", {"delete": [prompt_id]})):
            try:
                self.http.post(self._url(route), json=body).raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("%s: could not %s prompt %s: %s", self.shown, route.strip("/"), prompt_id, exc)

    def download(self, item: dict[str, Any], dest: Path, kind: str) -> str:
        """One output file (`GET /view`), whole, checked; its extension."""
        query = {
            "filename": str(item["filename"]),
            "subfolder": str(item.get("subfolder") or ""),
            "type": str(item.get("type") or "output"),
        }
        url = self._url("/view", query)
        ext: str = self._call(f"download {query['filename']}", lambda: self._downloader.download(url, dest, kind))
        return ext

    def close(self) -> None:
        self.http.close()
