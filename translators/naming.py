"""Names for manifests: readable, valid for Kubernetes and the engines, length-limited, collision-free."""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def dns_label(text: str, max_length: int = DNS_LABEL_MAX) -> str:
    """A DNS-1123 label from arbitrary text; long names keep a hash of the original for uniqueness."""
    label = _DASHES.sub("-", _INVALID.sub("-", text.lower())).strip("-") or "x"
    if label[0].isdigit():
        label = f"t-{label}"
    if len(label) <= max_length and label == text:
        return label
    if len(label) > max_length:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        label = f"{label[:max_length - 9].rstrip('-')}-{digest}"
    return label


class NameTable:
    """Hands out unique names: the sanitised wish when free, else the wish with a counter."""

    def __init__(self, max_length: int = DNS_LABEL_MAX) -> None:
        self.max_length = max_length
        self.taken: set[str] = set()

    def claim(self, wish: str) -> str:
        base = dns_label(wish, self.max_length)
        name, counter = base, 1
        while name in self.taken:
            counter += 1
            suffix = f"-{counter}"
            name = f"{base[:self.max_length - len(suffix)]}{suffix}"
        self.taken.add(name)
        return name
