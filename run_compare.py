#!/usr/bin/env python3
"""Compare NAS strategies fairly: ``python run_compare.py --help``; bare, it runs the quick preset."""
import sys

from nasbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
