"""What a /predict request may hold, and the one-sentence 4xx error for each way it can be wrong. The body is checked
here by hand, not by a pydantic model, so that each error says in one sentence what was wrong and what to send."""

import json
from dataclasses import dataclass

EXAMPLE = '{"inputs": "a review"} or {"inputs": ["a review", ...]}'
JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number",
              type(None): "null"}  # fmt: skip


class RequestError(Exception):
    """A request the server refuses: `status` (4xx) and a one-sentence message, sent as {"error": message}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_texts: int  # a request
    max_chars: int  # a text
    max_body_bytes: int

    def check_size(self, size: int) -> None:
        if size > self.max_body_bytes:
            raise RequestError(413, f"the body is over {self.max_body_bytes} bytes; send at most {self.max_texts} texts "
                                    f"of at most {self.max_chars} characters in a request")  # fmt: skip

    def check_text(self, text, where: str = "inputs") -> str:
        if not isinstance(text, str):
            raise RequestError(422, f"{where} is {JSON_TYPES.get(type(text), 'not a string')}; send a string")
        if not text.strip():
            raise RequestError(422, f"{where} is empty; send a text with at least one character that is not a space")
        if len(text) > self.max_chars:
            raise RequestError(422, f"{where} is {len(text)} characters long, over the limit of {self.max_chars}; "
                                    "shorten it (texts are cut to the run's max length in tokens anyway)")  # fmt: skip
        return text

    def texts(self, body: bytes) -> tuple[list[str], bool]:
        """(the texts of a /predict body, whether it sent one text rather than a list); `RequestError` otherwise."""
        self.check_size(len(body))
        try:
            request = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
            raise RequestError(400, f"the body is not JSON ({reason}); send {EXAMPLE}") from None
        if not isinstance(request, dict) or "inputs" not in request:
            raise RequestError(422, f"the body is {JSON_TYPES[type(request)]}"
                                    f"{' without inputs' if isinstance(request, dict) else ''}; send {EXAMPLE}")  # fmt: skip
        unknown = sorted(set(request) - {"inputs"})
        if unknown:
            raise RequestError(422, f"unknown field {', '.join(map(json.dumps, unknown))}: a request holds only inputs "
                                    "(every label's score is always returned, highest first)")  # fmt: skip
        inputs = request["inputs"]
        if isinstance(inputs, str):
            return [self.check_text(inputs)], True
        if not isinstance(inputs, list):
            raise RequestError(422, f"inputs is {JSON_TYPES[type(inputs)]}; send a string or a list of strings")
        if not inputs:
            raise RequestError(422, "inputs is an empty list; send at least one text")
        if len(inputs) > self.max_texts:
            raise RequestError(422, f"inputs holds {len(inputs)} texts, over the limit of {self.max_texts} a request; "
                                    "send them in several requests")  # fmt: skip
        return [self.check_text(text, f"inputs[{i}]") for i, text in enumerate(inputs)], False
