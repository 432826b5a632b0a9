"""HTML → PDF with Debian's headless Chromium (through Playwright), using the system CJK fonts.

Chromium lays out the same print stylesheet the browser uses, so the PDF embeds Noto Sans CJK
(``fonts-noto-cjk``) and the Chinese text is real text, not images.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


class PdfUnavailable(RuntimeError):
    """Chromium or Playwright is missing on this server."""


def html_to_pdf(html: str) -> bytes:
    if not CHROMIUM.exists():
        raise PdfUnavailable("chromium is not installed (scripts/system-deps installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright ships with the dev extras
        raise PdfUnavailable("playwright is not installed") from exc
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.set_content(html, wait_until="load")
            pdf: bytes = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
    return pdf
