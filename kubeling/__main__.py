"""``python -m kubeling``."""

from kubeling.cli import main

if __name__ == "__main__":
    main()
