"""What every live parity script shares: its command line, the skip when the
reference it compares against is not installed, and its table of results.

    parser = harness.argument_parser(__doc__)   # --ember, --scratch (as ctest passes them)
    args = parser.parse_args()
    harness.skip_unless(["torch", "torchaudio"], tools=["spm_train"])
    harness.print_table(rows, header)
"""

import argparse
import importlib
import shutil
import sys

SKIPPED = 77  # ctest's SKIP_RETURN_CODE for these scripts (tests/CMakeLists.txt)


def argument_parser(doc):
    """--ember and --scratch, which tests/CMakeLists.txt passes to every script."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ember", required=True, help="path to the ember binary")
    parser.add_argument("--scratch", required=True, help="directory for models and outputs")
    return parser


def skip_unless(modules, tools=()):
    """Exits SKIPPED, saying what is missing, unless every module (a dotted
    name) imports and every tool is on PATH."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            print(f"skipped: {error}")
            sys.exit(SKIPPED)
    for tool in tools:
        if shutil.which(tool) is None:
            print(f"skipped: {tool} not found")
            sys.exit(SKIPPED)


def print_table(rows, header=None):
    """Rows (and the header) as columns padded to their widest cell."""
    rows = ([header] if header else []) + rows
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
