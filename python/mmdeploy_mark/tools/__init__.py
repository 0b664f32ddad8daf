"""The command-line tools: torch2onnx and extract (console scripts
mmdeploy-torch2onnx and mmdeploy-extract, and tools/*.py in the repository)."""
