"""Everything a deploy config needs for mmdetection 3.x models: importing
this module registers the rewriters (name it in ``custom_imports``)."""
from . import single_stage, two_stage  # noqa: F401  (importing registers)
