"""dark: heatmap coordinate encoding/decoding (DARK) and its reproduction on depth images.

Submodules are imported lazily by their users (``from dark import codecs``); importing
``dark`` itself is cheap and imports no torch.
"""

__version__ = "0.1.0"
