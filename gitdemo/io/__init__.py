"""Reading what comes from outside: images, video frames, checkpoints, the Hugging Face Hub."""
