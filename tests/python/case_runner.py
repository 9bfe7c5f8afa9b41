"""The driver the per-config parity tests share (test_transcriber_parity.py,
test_decoder_parity.py): the command line (--ember, --scratch, --only NAME ...),
the skip when torch or torchaudio cannot be imported, every case checked in
turn (an exception fails its case and the others still run), and one table of
results at the end.
"""

import argparse
import os

SKIPPED = 77  # ctest's SKIP_RETURN_CODE for these scripts


def run_cases(doc, case_list, check_case, header, banner):
    """Returns the exit code: 0 when every case passes, 1 on any failure,
    SKIPPED without torch/torchaudio. `case_list` names a list in configs.py;
    check_case(ember, scratch, case, rows) appends rows of len(header) and
    returns whether the case passed; `banner` follows the versions line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--ember", required=True, help="path to the ember binary")
    parser.add_argument("--scratch", required=True, help="directory for models and outputs")
    parser.add_argument("--only", nargs="*", help="run only these cases")
    args = parser.parse_args()

    try:
        import torch
        import torchaudio
    except ImportError as e:
        print(f"skipped: {e}")
        return SKIPPED
    import configs

    print(f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, {banner}")
    os.makedirs(args.scratch, exist_ok=True)
    known = getattr(configs, case_list)
    cases = [c for c in known if not args.only or c.name in args.only]
    if args.only and len(cases) != len(args.only):
        print(f"unknown case in {args.only}; known: {[c.name for c in known]}")
        return 1

    rows = []
    failed = []
    for case in cases:
        try:
            ok = check_case(args.ember, args.scratch, case, rows)
        except Exception as e:  # an unreadable output or one of the wrong shape: report it and go on
            rows.append((case.name, *["-"] * (len(header) - 4), type(e).__name__, "-", "FAIL"))
            print(f"[{case.name}] {type(e).__name__}: {e}")
            ok = False
        if not ok:
            failed.append(case.name)

    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print(f"all {len(cases)} configs pass")
    return 0
