"""How long a visitor's files live on the server: `GITDEMO_UPLOAD_RETENTION_S` seconds (default 3600), then gone.

Gradio copies every upload, and every picture the app sends back, into its temporary folder
($GRADIO_TEMP_DIR, else /tmp/gradio). Two things delete them:

- Gradio's own `delete_cache=(every, age)` (`delete_cache()` below gives it to `gr.Blocks`): every `every`
  seconds it removes the files this process tracked (uploads, event outputs) older than `age`, and all of
  them at a clean shutdown. Their addresses then answer 403. It keeps the shipped examples.
- `sweep()`, which this module runs on the same clock in a daemon thread (`start()`): Gradio never deletes
  the share-link states it writes under `deep_links/` (a JSON copy of a page's values), nor the per-file
  folders it leaves empty; both go once older than `age`.

A file therefore lives between `age` and `age + every` seconds. `docs/privacy.md` says it for teachers.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path

log = logging.getLogger("gitdemo.ui")
ENV = "GITDEMO_UPLOAD_RETENTION_S"
DEFAULT_S = 3600
MAX_SWEEP_S = 60  # the clock of both sweeps: a file outlives its retention by at most this (or a tenth of it)
_started = threading.Event()  # one sweeper per process


def retention_s() -> int:
    """Seconds a visitor's file is kept (GITDEMO_UPLOAD_RETENTION_S; at least 1; default 3600)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_S
    try:
        return max(1, int(float(raw)))
    except ValueError:
        log.warning("%s=%r is not a number of seconds; keeping files %d s", ENV, raw, DEFAULT_S)
        return DEFAULT_S


def sweep_every(age: int) -> int:
    """How often the sweeps run: a tenth of the retention, between 1 s and a minute."""
    return max(1, min(MAX_SWEEP_S, age // 10))


def delete_cache() -> tuple[int, int]:
    """`gr.Blocks(delete_cache=...)`: (how often, how old) in seconds."""
    age = retention_s()
    return sweep_every(age), age


def temp_dir() -> Path:
    """Gradio's folder for uploads and outputs (the rule of gradio.utils.get_upload_folder)."""
    import tempfile

    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def _age(path: Path, now: float) -> float:
    st = path.lstat()
    return now - max(st.st_mtime, st.st_ctime)


def sweep(root: Path, age: float, now: float | None = None) -> int:
    """Delete what Gradio's own sweep leaves under `root` once older than `age` seconds: share-link states
    (`deep_links/<id>/`) and empty folders. Returns how many entries went."""
    now = time.time() if now is None else now
    removed = 0
    links = root / "deep_links"
    if links.is_dir():
        for entry in links.iterdir():
            try:
                if _age(entry, now) > age:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    if not root.is_dir():
        return removed
    for folder, dirs, files in os.walk(root, topdown=False):  # deepest first, so emptied parents follow
        path = Path(folder)
        if path in (root, links) or files or any((path / d).exists() for d in dirs):
            continue
        try:
            if _age(path, now) > age:
                path.rmdir()
                removed += 1
        except OSError:  # not empty any more, or gone: the next sweep sees it
            continue
    return removed


def _loop(root: Path, age: int, every: int) -> None:
    while True:
        time.sleep(every)
        try:
            sweep(root, age)
        except Exception as exc:  # noqa: BLE001 - the sweeper must outlive a bad moment on disk
            log.warning("retention sweep failed (%s); trying again in %d s", type(exc).__name__, every)  # no paths


def start() -> bool:
    """Start the sweeper thread (once per process); returns whether this call started it."""
    if _started.is_set():
        return False
    _started.set()
    every, age = delete_cache()
    threading.Thread(target=_loop, args=(temp_dir(), age, every), name="gitdemo-retention", daemon=True).start()
    return True


__all__ = ["ENV", "DEFAULT_S", "retention_s", "sweep_every", "delete_cache", "temp_dir", "sweep", "start"]
