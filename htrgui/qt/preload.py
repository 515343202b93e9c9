"""Importing torch and the engines in the background right after start-up."""

from __future__ import annotations

import gc
import threading


def preload_heavy_modules() -> threading.Thread:
    """Import torch and the engines in the background right after start-up.

    Loading torch's libraries holds Python's global lock for about half a second at a time; done by the first
    recognition job it would freeze the window then. Done at start-up, before the person has opened
    anything, it costs nothing they notice.
    """
    def work() -> None:
        try:
            import torch  # noqa: F401

            import htrgui.core.recognition.engine  # noqa: F401
            import htrgui.core.recognition.lm  # noqa: F401 - a recognition job's first step, on the GUI thread
            import htrgui.core.segmentation  # noqa: F401
            import htrgui.core.training.finetune  # noqa: F401

            # the first optimiser step imports torch._dynamo and sympy (~3 s of imports): do it here, not in
            # the middle of the first fine-tuning
            weight = torch.zeros(1, requires_grad=True)
            optimizer = torch.optim.AdamW([weight])
            weight.grad = torch.zeros(1)
            optimizer.step()
        except Exception:  # noqa: BLE001 - the job that needs them reports the error properly
            return
        # torch's objects live as long as the app: keep the garbage collector from walking them (its full
        # collections would otherwise pause the window for up to half a second)
        gc.freeze()

    thread = threading.Thread(target=work, name="htrgui-preload", daemon=True)
    thread.start()
    return thread
