"""Answers (extractive or LLM, with verified citations), the Gradio UI and the CLI."""

from consensus_chat.lazy import lazy_exports

__all__ = ["open_assistant", "Assistant", "Answer", "Citation"]

# Lazy: `import app` must not load models or Gradio.
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, ".assistant"))
