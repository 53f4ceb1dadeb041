"""Streams from fake-gemini with Google's own Python client (google-genai), as a real application would.

stdin:  {"base_url", "api_key", "model", "prompt"}
stdout: {"ok": true, "texts": [...], "finish_reason": "..."}
     or {"ok": false, "error": "<exception class>", "code": <int|null>, "texts": [...]}
"""
import json
import sys

from google import genai
from google.genai import errors, types

request = json.load(sys.stdin)
client = genai.Client(
    api_key=request["api_key"],
    http_options=types.HttpOptions(base_url=request["base_url"]),
)
texts = []
finish_reason = None
try:
    for chunk in client.models.generate_content_stream(model=request["model"], contents=request["prompt"]):
        if chunk.text:
            texts.append(chunk.text)
        if chunk.candidates and chunk.candidates[0].finish_reason:
            finish_reason = str(chunk.candidates[0].finish_reason.value)
    print(json.dumps({"ok": True, "texts": texts, "finish_reason": finish_reason}))
except errors.APIError as error:
    print(json.dumps({"ok": False, "error": type(error).__name__, "code": error.code, "texts": texts}))
