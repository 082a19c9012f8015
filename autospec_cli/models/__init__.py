"""Models: architectures, training, ONNX export and the ONNX -> torch conversion."""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "parse_arch": "arch",
    "ArchSpec": "arch",
    "MLP": "arch",
    "ConvNet": "arch",
    "TrainConfig": "train_export",
    "train_to_onnx": "train_export",
    "export_onnx": "onnx_export",
    "load_onnx_as_torch": "onnx_to_torch",
    "convert_onnx": "onnx_to_torch",
    "OnnxRunner": "runtime",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
