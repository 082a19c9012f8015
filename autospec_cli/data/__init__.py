"""Datasets: the Dataset model, loaders for every source, generation/evaluation splits."""

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.loaders import LOADERS, LoadRequest, detect_format, load_dataset
from autospec_cli.data.split import split_dataset, write_split

__all__ = [
    "LOADERS", "Dataset", "LoadRequest", "detect_format", "load_dataset", "split_dataset",
    "write_split",
]
