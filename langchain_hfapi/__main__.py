"""Runs the command line: `python -m langchain_hfapi --help`."""

import sys

from langchain_hfapi._cli import main

sys.exit(main(prog="python -m langchain_hfapi"))
