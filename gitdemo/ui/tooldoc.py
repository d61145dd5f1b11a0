"""The `Args:` lines every generation endpoint shares (its decoding settings), written once. Gradio reads an
endpoint function's docstring for the API page and for MCP tool descriptions, so `decoding_args` fills them in
where the docstring says `{decoding_args}`."""
from __future__ import annotations

DECODING_ARGS = (
    'decoding: "greedy", "beam" or "sampling".',
    "max_new_tokens: the most tokens to write (1 to 40).",
    'num_beams: beams for "beam" decoding (2 to 8).',
    'temperature: softmax temperature for "sampling".',
    'top_p: nucleus probability for "sampling".',
    'seed: random seed for "sampling" (same seed, same text).',
    'precision: "auto" (default: int8 on a CPU for Hub models, exact for the embedded ones), "fp32" (exact) or "int8".',
)
MARKER = "{decoding_args}"


def decoding_args(fn):
    """Replace the `{decoding_args}` line of `fn.__doc__` with the shared lines, at that line's indentation."""
    lines = []
    for line in (fn.__doc__ or "").split("\n"):
        if line.strip() == MARKER:
            indent = line[: len(line) - len(line.lstrip())]
            lines += [indent + arg for arg in DECODING_ARGS]
        else:
            lines.append(line)
    fn.__doc__ = "\n".join(lines)
    return fn


__all__ = ["decoding_args", "DECODING_ARGS"]
