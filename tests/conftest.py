"""Suite-wide setup: this folder is on ``sys.path``, so area tests share ``binaries``."""
