"""The classroom bench's students: light HTTP clients that send what a browser tab sends, nothing else.

`Student` (flow "api"): upload the picture, press the button (/caption, /vqa or /paligemma), read the result.
`PageStudent` (flow "browser"): the same, then what the page does as soon as the result's JSON arrives: the
explorer's build (`<endpoint>_explore`: the picture, the JSON, the view controls at their page defaults, the
list of open sections), in the SAME session (session_hash) as the answer, as a real page does: the explorer
may read what the generation left in the session's gr.State.

The inputs of both calls come from the app's own /config (its components' initial values and which components
each event reads), so the students follow the page when its controls change, with no list kept here.
gradio_client is not used: it spent about 0.5 s of CPU per request in this process, on the same cores as the
server it measures.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

FLOWS = ("api", "browser")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (pid None) or of another one (from /proc)."""
    if pid is None:
        usage = os.times()
        return usage.user + usage.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def endpoint(family: str, question: str | None = None) -> str:
    return "paligemma" if family == "paligemma" else "vqa" if question else "caption"


def api_defaults(url: str, family: str, question: str | None) -> list:
    """The default values of the endpoint's inputs after the image, from the app's API description."""
    import httpx

    info = httpx.get(f"{url}/gradio_api/info", timeout=60).json()["named_endpoints"][f"/{endpoint(family, question)}"]
    return [p.get("parameter_default") for p in info["parameters"][1:]]


class Page:
    """What the page knows before any click, from /config: each component's initial value and type, and each
    named event's input and output components."""

    def __init__(self, url: str):
        import httpx

        config = httpx.get(f"{url}/config", timeout=60).json()
        self.values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
        self.types = {c["id"]: c["type"] for c in config["components"]}
        self.events = {d["api_name"]: d for d in config["dependencies"] if d.get("api_name")}

    def event(self, name: str) -> dict:
        if name not in self.events:
            raise RuntimeError(f"the app has no event named {name!r} (its page changed?)")
        return self.events[name]

    def inputs(self, name: str, values: dict) -> list:
        """The data the page sends for event `name`: every input's current value; a gr.State is kept by the
        server (its session), so the page sends null for it."""
        return [None if self.types[i] == "state" else values.get(i) for i in self.event(name)["inputs"]]


def _value(update, before):
    """A component's value after an output: a plain value, or a gr.update that may carry one."""
    if isinstance(update, dict) and update.get("__type__") == "update":
        return update.get("value", before)
    return update


class Student:
    """One student's browser tab for flow "api": its own session, the app's HTTP API (upload, then
    /gradio_api/call/<endpoint> and its event stream)."""

    def __init__(self, url: str, family: str, defaults: list, question: str | None = None):
        import httpx

        self.url, self.family, self.defaults, self.question = url, family, defaults, question
        self.session = secrets.token_hex(5)
        self.http = httpx.Client(base_url=url, timeout=httpx.Timeout(300.0, connect=30.0))

    def upload(self, image: str) -> dict:
        with open(image, "rb") as f:
            uploaded = self.http.post("/gradio_api/upload", files={"files": (Path(image).name, f, "image/png")})
        uploaded.raise_for_status()
        return {"path": uploaded.json()[0], "meta": {"_type": "gradio.FileData"}}

    def answer_data(self, picture: dict) -> list:
        """What the page sends with the button: every input's value (the defaults here, the prompt set)."""
        data = [picture, *self.defaults]
        if self.family == "paligemma":
            data[1] = f"answer en {self.question}" if self.question else "caption en"
        elif self.question:
            data[1] = self.question
        return data

    def call(self, name: str, data: list) -> list:
        """One event through /gradio_api/call/<name> in this student's session; its outputs (the last update),
        or RuntimeError on an error event."""
        import json

        joined = self.http.post(f"/gradio_api/call/{name}", json={"data": data, "session_hash": self.session})
        joined.raise_for_status()
        event = None
        with self.http.stream("GET", f"/gradio_api/call/{name}/{joined.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    if event == "error":
                        raise RuntimeError(f"the app answered an error: {line[5:].strip()[:200]}")
                    return json.loads(line[5:])
        raise RuntimeError(f"the event stream ended without a result (last event: {event})")

    def ask(self, image: str, room: str | None = None) -> list:
        """Upload the picture, press the button, read the stream to its end: the answer's outputs (`room`: a
        class code, the endpoint's last input, to post the result to the class wall)."""
        data = self.answer_data(self.upload(image))
        if room is not None:
            data[-1] = room
        return self.call(endpoint(self.family, self.question), data)

    def timed(self, image: str) -> float:
        t0 = time.perf_counter()
        self.ask(image)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.http.close()


class PageStudent(Student):
    """Flow "browser": the answer, then the explorer's build with the page's default view, in the same session."""

    def __init__(self, url: str, family: str, defaults: list, question: str | None = None, page: Page | None = None):
        super().__init__(url, family, defaults, question)
        self.page = page or Page(url)
        self.explored: list | None = None  # the explorer build's outputs, after ask()

    def ask(self, image: str) -> list:
        name = endpoint(self.family, self.question)
        sent = self.answer_data(self.upload(image))
        outputs = self.call(name, sent)
        event, values = self.page.event(name), dict(self.page.values)
        values.update(zip(event["inputs"], sent))
        for i, out in zip(event["outputs"], outputs):
            values[i] = _value(out, values.get(i))
        self.explored = self.call(f"{name}_explore", self.page.inputs(f"{name}_explore", values))
        return outputs


def student(flow: str, url: str, family: str, defaults: list, question: str | None = None,
            page: Page | None = None) -> Student:
    if flow not in FLOWS:
        raise ValueError(f"flow {flow!r}: one of {', '.join(FLOWS)}")
    return PageStudent(url, family, defaults, question, page) if flow == "browser" else \
        Student(url, family, defaults, question)


__all__ = ["FLOWS", "Page", "PageStudent", "Student", "api_defaults", "cpu_seconds", "endpoint", "student"]
