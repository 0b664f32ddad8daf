"""Marks for mmdetection 3.x models (the seed tutorial's rewriters), loaded
through a deploy config's ``custom_imports``; see README.md."""
