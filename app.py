"""gitdemo's web app: `python app.py` (a Hugging Face Space runs exactly this).

Serves on $PORT (else GRADIO_SERVER_PORT, else 7860); set GRADIO_SERVER_NAME=0.0.0.0 to listen on
every interface (Spaces do). `--local-models` (or GITDEMO_LOCAL_MODELS=1) lets the PaliGemma tab load a
checkpoint from a folder on this machine: off by default, because any visitor could type a path.
Everything else lives in gitdemo.ui.
"""
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
if "--local-models" in sys.argv[1:]:
    os.environ["GITDEMO_LOCAL_MODELS"] = "1"

from gitdemo.ui import build_demo, serve  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    serve(demo)
