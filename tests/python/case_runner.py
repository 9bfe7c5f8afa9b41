"""The driver the per-config parity tests share (test_transcriber_parity.py,
test_decoder_parity.py): the command line (--ember, --scratch, --only NAME ...),
the skip when torch or torchaudio cannot be imported, every case checked in
turn (an exception fails its case and the others still run), and one table of
results at the end.
"""

import os

import harness


def run_cases(doc, case_list, check_case, header, banner):
    """Returns the exit code: 0 when every case passes, 1 on any failure (it
    exits harness.SKIPPED without torch/torchaudio). `case_list` names a list in configs.py;
    check_case(ember, scratch, case, rows) appends rows of len(header) and
    returns whether the case passed; `banner` follows the versions line."""
    parser = harness.argument_parser(doc)
    parser.add_argument("--only", nargs="*", help="run only these cases")
    args = parser.parse_args()
    harness.skip_unless(["torch", "torchaudio"])
    import configs
    import torch
    import torchaudio

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

    harness.print_table(rows, header)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print(f"all {len(cases)} configs pass")
    return 0
