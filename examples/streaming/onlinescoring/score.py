"""A scoring script that streams: run() returns a flask Response over a generator, and the answer
reaches the client as server-sent events, one per token, as they are made (modelplane's gateway
relays them as they arrive; see README.md)."""

import json
import time

from flask import Response


def init():
    pass


def run(raw_data):
    prompt = json.loads(raw_data)["prompt"]

    def events():
        for word in prompt.split():
            # A real model would produce its next token here.
            yield "data: " + json.dumps({"token": word}) + "\n\n"
            time.sleep(0.4)
        yield "data: [DONE]\n\n"

    return Response(events(), mimetype="text/event-stream")
