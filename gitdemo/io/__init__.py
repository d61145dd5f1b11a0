"""Inputs: image and video files, checkpoints and the Hub."""
