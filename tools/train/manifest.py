"""Reading a manifest: one `path<TAB>text` line per utterance (make_data.py writes them)."""


def read_manifest(path):
    """-> [(path, text)], blank lines skipped."""
    with open(path) as f:
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in f if line.strip()]
