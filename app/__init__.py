"""Answers (extractive or LLM, with verified citations), the Gradio UI and the CLI."""

__all__ = ["open_assistant", "Assistant", "Answer", "Citation"]


def __getattr__(name):
    # Lazy: `import app` must not load models or Gradio.
    if name in __all__:
        from . import assistant

        return getattr(assistant, name)
    raise AttributeError(name)
