"""No library we run phones home: Chroma's, Gradio's and onnxruntime's telemetry are switched off here.

onnxruntime 1.32 opens an event store (~/.cache/Microsoft/DeveloperTools/.onnxruntime) when it is imported and
may send it to mobile.events.data.microsoft.com; ORT_DISABLE_TELEMETRY=1 must be set before that import, so
every use of onnxruntime goes through `import_onnxruntime`.
"""

from __future__ import annotations

import os

_OFF = {"ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False", "ORT_DISABLE_TELEMETRY": "1"}


def disable_telemetry() -> None:
    """Switch off the telemetry of Chroma, Gradio and onnxruntime for this process (an explicit setting wins)."""
    for name, value in _OFF.items():
        os.environ.setdefault(name, value)


def import_onnxruntime():
    """onnxruntime with its telemetry off: the environment switch before the import, its own API after it."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # not setdefault: there is no reason to let it send events
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime
