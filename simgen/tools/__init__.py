"""Small commands that work on a finished dataset."""
