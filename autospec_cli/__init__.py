"""autospec_cli: specifications from data, VNN-LIB benchmarks and neural-network verification."""

__version__ = "0.1.0"
