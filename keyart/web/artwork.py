"""Placeholder artwork: a deterministic SVG per asset id, so generated catalogs (demo, bench)
show real images without any external URL."""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape

# Okabe–Ito colours: distinguishable with every common colour-vision deficiency
_PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
_ASSET_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MEDIA_PATH = "/media"  # where the server answers /media/<asset id>.svg
WIDTH, HEIGHT = 320, 180


def media_url(asset_id: str) -> str:
    """The server-relative URL of an asset's placeholder artwork."""
    return f"{MEDIA_PATH}/{asset_id}.svg"


def valid_asset_id(asset_id: str) -> bool:
    """Whether a placeholder can be drawn for this id (letters, digits, `_.-`, ≤ 64)."""
    return _ASSET_ID.fullmatch(asset_id) is not None


def placeholder_svg(asset_id: str) -> str:
    """A 16:9 SVG drawn only from the id's SHA-256: same id, same bytes, on every machine."""
    if not valid_asset_id(asset_id):
        raise ValueError(f"not an asset id: {asset_id!r}")
    digest = hashlib.sha256(asset_id.encode()).digest()
    back, front, accent = (_PALETTE[b % len(_PALETTE)] for b in digest[:3])
    if front == back:
        front = _PALETTE[(digest[1] + 1) % len(_PALETTE)]
    shapes = []
    for i in range(4):
        x, y, r = digest[4 + 3 * i], digest[5 + 3 * i], digest[6 + 3 * i]
        colour = front if i % 2 else accent
        shapes.append(
            f'<circle cx="{x * WIDTH // 255}" cy="{y * HEIGHT // 255}" r="{12 + r % 48}" '
            f'fill="{colour}" fill-opacity="0.75"/>'
        )
    label = escape(asset_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Placeholder artwork {label}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{back}"/>'
        + "".join(shapes)
        + f'<rect x="0" y="{HEIGHT - 32}" width="{WIDTH}" height="32" fill="#000" '
        'fill-opacity="0.6"/>'
        f'<text x="12" y="{HEIGHT - 11}" font-family="sans-serif" font-size="16" '
        f'fill="#fff">{label}</text></svg>'
    )


__all__ = ["MEDIA_PATH", "media_url", "placeholder_svg", "valid_asset_id"]
