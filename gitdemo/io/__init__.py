"""Inputs: image and video files, checkpoints and the Hugging Face Hub."""
