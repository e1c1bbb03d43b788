"""How the page looks and behaves in the browser: the theme, the CSS and the page script. Nothing here runs Python work.

Measured in Chromium at 1280x900 and 390x844, light and dark (tests/test_browser.py): everything sits on the first
screen, the chat pane takes the height that is left, and all text keeps a contrast of at least 4.5:1 (axe-core).
"""

from __future__ import annotations

import gradio as gr

# System font stacks: the default theme's web font cannot load offline, and its fallback mixed typefaces.
FONT = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "Helvetica Neue", "Arial",
        "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "Liberation Mono",
             "monospace")

CSS = """
/* The chat pane takes the height the header, the input and the examples leave (both widths measured). */
#chatbot { height: calc(100dvh - 300px) !important; min-height: 240px !important; max-height: none !important; }
#chatbot .prose.chatbot.md { opacity: 1 !important; }  /* Gradio dims answers to 0.8: too little contrast */
/* Dark text on yellow in both schemes: light text on pale yellow had a contrast of 1.13:1. */
#chatbot mark, #chatbot mark * { background: #fde68a !important; color: #1f2937 !important; padding: 0 .1em; }
/* Text the theme draws in its accent or a pale grey falls under 4.5:1; the body colour keeps it readable. */
button[role="tab"][aria-selected="true"], footer, footer a, footer button, footer span {
  color: var(--body-text-color) !important; opacity: 1 !important; }
#chatbot details.source { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: .5em 0;
  padding: .35em .75em; scroll-margin-top: .5em; scroll-margin-bottom: .5em; }
#chatbot details.source > summary { cursor: pointer; font-weight: 600; }
#chatbot details.source > summary:focus-visible { outline: 2px solid var(--color-accent); outline-offset: 2px; }
#chatbot .top-panel { display: none !important; }  /* its floating toolbar covered the top message */
#chatbot .scroll-down-button-container { display: none !important; }  /* it covered the highlighted sentence */
#chatbot a { color: var(--link-text-color); }
#header { align-items: center; gap: .5em; flex-wrap: nowrap; }
#header h1 { font-size: 1.35em; margin: 0; }
#intro p { margin: 0; }
#ask-row { align-items: stretch; gap: .5em; flex-wrap: nowrap; }
#ask-row > div { margin: 0; }
#ask, #stop { min-width: 80px; max-width: 120px; align-self: stretch; }
#examples { gap: .4em; }
#examples button { flex: 0 1 auto; }
.backend-note { font-size: .9em; }
@media (max-width: 640px) {
  #chatbot { height: calc(100dvh - 330px) !important; min-height: 200px !important; }
  #intro { display: none; }
  #examples button { font-size: .8em; padding: .25em .5em; }
}
"""

# Opening a source box (by click, or Enter on its title) brings it into view; a "Nearest sections" link in a refusal
# opens the Document tab at that section. (Gradio itself follows the system's dark mode.)
JS = """
() => {
  document.addEventListener("toggle", (event) => {
    const box = event.target;
    if (box instanceof HTMLDetailsElement && box.open && box.closest("#chatbot")) {
      box.scrollIntoView({block: "nearest", behavior: "instant"});
    }
  }, true);
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('#chatbot a[href^="#doc-"]');
    if (!link) return;
    event.preventDefault();
    const id = link.getAttribute("href").slice(1);
    const tab = [...document.querySelectorAll('button[role="tab"]')].find((b) => b.textContent.trim() === "Document");
    if (tab) tab.click();
    let tries = 0;
    const land = () => {
      const target = document.getElementById(id);
      if (target) target.scrollIntoView({block: "start", behavior: "instant"});
      else if (tries++ < 40) setTimeout(land, 50);
    };
    land();
  }, true);
}
"""


def theme() -> gr.themes.Base:
    """The default theme with system fonts only, so nothing asks for a web font."""
    # Blue-700 buttons: white text on the default orange had a contrast of 2.8:1.
    return gr.themes.Default(primary_hue=gr.themes.colors.blue, font=list(FONT), font_mono=list(FONT_MONO)).set(
        button_primary_background_fill="*primary_700", button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800", button_primary_background_fill_hover_dark="*primary_800",
        button_primary_text_color="white", button_primary_text_color_dark="white")
