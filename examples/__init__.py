"""Examples of using mmdeploy_mark, importable as ``examples.*`` from the
repository root (they are not installed with the package)."""
