"""A figure as a run saves it: PNG bytes and the facts from which the report's page tells how large its text prints."""
from __future__ import annotations

import io

DPI = 110  # the saved PNGs' resolution


def png(fig) -> bytes:
    """The figure as PNG bytes: tight box, DPI, no software stamp (the same figure gives the same bytes)."""
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return image.getvalue()


def facts(fig, image: bytes) -> dict[str, float]:
    """A figure saved as `image` (png): its width in inches, the dpi it is shown at inline, and the size in points of
    its smallest visible text."""
    from matplotlib.text import Text  # here: the run folder itself needs no matplotlib

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    width_px = int.from_bytes(image[16:20], "big")  # the PNG header's IHDR width
    return {"width_in": round(width_px / DPI, 3), "dpi": float(fig.dpi), "smallest_text_pt": min(sizes, default=0.0)}
